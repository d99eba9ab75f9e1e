/**
 * Platform API keys: create (the key is shown once and only its SHA-256 is
 * kept), list, revoke. Used by `hashsafe serve keys`.
 */
import { SCOPES, type Scope } from "../protocol/index.ts";
import { hashApiKey, newApiKey } from "./secrets.ts";
import type { ApiKeyInfo, Store } from "./store.ts";

/** Parse `feed:read,lookup` into scopes; throws on an unknown or missing scope. */
export function parseScopes(list: string): Scope[] {
  const scopes = [...new Set(list.split(",").map((s) => s.trim()).filter(Boolean))];
  if (scopes.length === 0) throw new Error(`give at least one scope (${SCOPES.join(", ")})`);
  for (const s of scopes) {
    if (!(SCOPES as readonly string[]).includes(s)) throw new Error(`unknown scope ${JSON.stringify(s)}; scopes are ${SCOPES.join(", ")}`);
  }
  return scopes as Scope[];
}

/** Key names: 1..64 of [A-Za-z0-9._-], not all digits (so `revoke` can tell names from ids). */
export const KEY_NAME_PATTERN = /^(?![0-9]+$)[A-Za-z0-9._-]{1,64}$/;

/** Create a key; answers the key (show it once) and what is stored. Throws if an active key has this name. */
export async function createApiKey(store: Store, name: string, scopes: Scope[], now = Date.now()): Promise<{ key: string; info: ApiKeyInfo }> {
  if (!KEY_NAME_PATTERN.test(name)) throw new Error(`a key name is 1..64 of [A-Za-z0-9._-] and not only digits: ${JSON.stringify(name)}`);
  if ((await store.listApiKeys()).some((k) => k.name === name && k.revokedAt === null)) {
    throw new Error(`an active key named ${JSON.stringify(name)} exists; revoke it first or choose another name`);
  }
  const key = newApiKey();
  const info = await store.createApiKey({ name, keyHash: hashApiKey(key), scopes, now });
  return { key, info };
}
