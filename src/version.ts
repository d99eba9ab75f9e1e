/** The hashsafe version, also sent as the client version in API calls. */
export const VERSION = "0.1.0";
