/**
 * Generated values (client ids and secrets, slugs, PINs) come from a pooled CSPRNG buffer:
 * exact lengths across pool refills, only the alphabet's characters, every character
 * equally likely, and no value handed out twice.
 */
import { describe, expect, it } from 'vitest';
import { randomDigits, randomLowercase, randomString } from '../src/secrets.js';

describe('randomString', () => {
  it('gives exactly the length asked for, from the alphabet only, across refills of its pool', () => {
    for (const length of [0, 1, 3, 40, 128, 4095, 4096, 10_000]) {
      expect(randomString(length)).toMatch(new RegExp(`^[A-Za-z0-9]{${length}}$`));
    }
    expect(randomLowercase(4)).toMatch(/^[a-z]{4}$/);
    expect(randomDigits(10)).toMatch(/^[0-9]{10}$/);
  });

  it('draws every character equally often (no modulo bias), and never repeats a value', () => {
    const counts = new Map<string, number>();
    const draws = 2_600_000;
    const text = randomLowercase(draws);
    for (const character of text) counts.set(character, (counts.get(character) ?? 0) + 1);
    expect(counts.size).toBe(26);
    // 100,000 expected per letter, standard deviation about 310: six of them is 1,900.
    // Without rejection sampling, 256 % 26 would give 22 letters about 101,500 and four about 91,400.
    for (const [character, count] of counts) expect(Math.abs(count - draws / 26), character).toBeLessThan(1_900);

    const secrets = new Set(Array.from({ length: 10_000 }, () => randomString(40)));
    expect(secrets.size).toBe(10_000);
  });
});
