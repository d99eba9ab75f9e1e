/**
 * The server-address rule shared by the Node client and the browser client:
 * https, or plain http only for a server on this machine; no user name,
 * password, query or fragment; a trailing `/` or `/v1` dropped. No Node
 * APIs, so the browser bundle uses the same code.
 */
import { InsecureServerError } from "./errors.ts";

function isIPv4(h: string): boolean {
  return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(h) && h.split(".").every((p) => Number(p) <= 255);
}

/** True for 127.0.0.0/8, ::1 and localhost (and names under `.localhost`). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "localhost." || h.endsWith(".localhost")) return true;
  if (isIPv4(h)) return h.split(".")[0] === "127";
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return isIPv4(mapped[1]) && mapped[1].split(".")[0] === "127";
  // WHATWG URL writes ::ffff:127.0.0.1 as ::ffff:7f00:1
  const hex = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(h);
  return hex !== null && parseInt(hex[1], 16) >> 8 === 127;
}

/**
 * Check and normalise a server address (`base` resolves a relative one, as
 * a page does with its own origin). Throws {@link InsecureServerError} with
 * the reason.
 */
export function parseServerUrl(input: string | URL, base?: string): URL {
  const text = String(input).trim();
  let url: URL;
  try {
    url = base ? new URL(text, base) : new URL(text);
  } catch {
    throw new InsecureServerError(text, `"${text}" is not a server address: give the full address, e.g. https://hashes.example.org`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new InsecureServerError(text, `"${text}" is not a web address: it must start with https://`);
  }
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    throw new InsecureServerError(
      text,
      `refusing to send anything to ${url.origin}: hashes are only sent over HTTPS (https://...). ` +
        `Plain http:// is allowed only for a server on this machine (127.0.0.1, ::1 or localhost).`,
    );
  }
  if (url.username || url.password) throw new InsecureServerError(text, "the server address must not contain a user name or password");
  if (url.search || url.hash) throw new InsecureServerError(text, 'the server address must not contain "?" or "#" parts');
  url.pathname = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
  return url;
}
