/** Small, dependency-free checks shared by the HTTP routes and the CLI. */

// The WHATWG HTML "valid e-mail address" grammar, plus a dot in the domain (a mailbox on a
// bare host name is never what an integrator means) and the RFC 5321 length limits.
const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;
const DOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isValidEmail(value: string): boolean {
  if (value.length > 254) return false;
  const at = value.lastIndexOf('@');
  if (at < 1 || at > 64) return false;
  const local = value.slice(0, at);
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false;
  return EMAIL.test(value);
}

/** The domain part of an address, lower-cased (the part applications are allowed by). */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

/** The key under which an email is unique: case does not make two users. */
export function emailLookupKey(email: string): string {
  return email.trim().toLowerCase();
}

export function isValidDomain(value: string): boolean {
  return value.length <= 253 && DOMAIN.test(value);
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
