/**
 * The server's problem+json `detail` texts, by problem type, in English and
 * Spanish (chosen by Accept-Language). Keys are "server.*".
 */
export const server = {
  en: {},
  es: {},
} as const;
