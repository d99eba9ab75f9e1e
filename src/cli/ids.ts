/**
 * Ids and secrets as people paste or type them: surrounding spaces, quotes,
 * a trailing full stop or comma, a capital C_/H_, and for the new secrets
 * (Crockford base32, docs/protocol.md) spaces, dashes, letter case and the
 * look-alikes I/L (read as 1) and O (read as 0).
 *
 * Ids are base64url, so a dash inside one is part of it and is kept.
 */

const EDGE = /^[\s"'`“”‘’«»<>([{]+|[\s"'`“”‘’«»<>)\]}.,;:!?]+$/g;

function trimEdges(s: string): string {
  return s.normalize("NFC").replace(EDGE, "");
}

/** A case id as typed -> the form the server knows (`c_` + 22 characters), or the trimmed input. */
export function normalizeCaseId(input: string): string {
  const s = trimEdges(input);
  return /^C_/.test(s) ? `c_${s.slice(2)}` : s;
}

/** A hash id as typed -> `h_` + 16 characters, or the trimmed input. */
export function normalizeHashId(input: string): string {
  const s = trimEdges(input);
  return /^H_/.test(s) ? `h_${s.slice(2)}` : s;
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEGACY = /^[A-Za-z0-9_-]{43}$/;

/**
 * A case secret as typed -> its canonical written form: a legacy secret (43
 * base64url characters) exactly as given; a base32 one as 7 groups of 4
 * upper-case characters with dashes. Anything else is answered trimmed (the
 * server decides).
 */
export function normalizeSecret(input: string): string {
  const s = trimEdges(input);
  if (LEGACY.test(s)) return s;
  const compact = s.replace(/[\s-]+/g, "").toUpperCase().replace(/[IL]/g, "1").replace(/O/g, "0");
  if (compact.length !== 28 || [...compact].some((c) => !CROCKFORD.includes(c))) return s;
  return compact.match(/.{4}/g)!.join("-");
}
