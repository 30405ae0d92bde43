/** The HMAC signer gives fast-jwt's tokens byte for byte, and jose accepts them. */
import { createSigner } from 'fast-jwt';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { hmacSigner } from '../src/tokens/jwt.js';

const key = 'k'.repeat(40) + 'é€';
const payloads: Record<string, unknown>[] = [
  { iss: 'meet', iat: 1_700_000_000, exp: 1_700_003_600, user_id: 'u', client_id: 'c', delegated: true },
  { iss: 'meet', aud: 'a', iat: 1_700_000_000, exp: 1_700_003_600, user_id: 'ü-ñ 😀', client_id: 'c/+=?', delegated: true, scope: 'rooms:list rooms:create' },
];

describe('hmacSigner', () => {
  for (const algorithm of ['HS256', 'HS384', 'HS512'] as const) {
    it(`signs as fast-jwt does, ${algorithm}`, async () => {
      const ours = hmacSigner(key, algorithm);
      const theirs = createSigner({ key, algorithm });
      for (const payload of payloads) {
        const token = ours(payload);
        expect(token).toBe(theirs(payload));
        const { payload: verified, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(key), { algorithms: [algorithm], currentDate: new Date(1_700_000_100_000) });
        expect(protectedHeader).toEqual({ alg: algorithm, typ: 'JWT' });
        expect(verified).toEqual(payload);
      }
    });
  }
});
