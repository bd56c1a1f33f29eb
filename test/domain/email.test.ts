import { describe, expect, it } from 'vitest';
import { lookupEmail, normalizeEmail } from '../../src/domain/email.js';
import { InvalidRequest } from '../../src/domain/errors.js';

describe('normalizeEmail', () => {
  it('trims and lower-cases', () => {
    expect(normalizeEmail('  Alice.Smith+tag@Example.COM \n')).toBe('alice.smith+tag@example.com');
  });

  it('NFC-normalizes, so composed and decomposed forms are one address', () => {
    const composed = 'j\u00fcrgen@x.io';
    const decomposed = 'ju\u0308rgen@x.io';
    expect(composed).not.toBe(decomposed);
    expect(normalizeEmail(decomposed)).toBe(normalizeEmail(composed));
    expect(normalizeEmail(decomposed)).toBe(composed);
    expect(normalizeEmail('JU\u0308RGEN@X.IO')).toBe(composed);
  });

  it('accepts ordinary addresses', () => {
    for (const email of ['a@b.co', 'first.last@sub.example.org', "o'brien@example.ie", 'x_y-z@my-host.example', 'user@xn--bcher-kva.example', 'ops@例え.jp']) {
      expect(normalizeEmail(email)).toBe(email);
    }
  });

  it('accepts 254 characters and refuses 255', () => {
    const domain = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.io`; // 189
    const ok = `${'a'.repeat(64)}@${domain}`;
    expect(ok).toHaveLength(254);
    expect(normalizeEmail(ok)).toBe(ok);
    expect(() => normalizeEmail(`${'a'.repeat(64)}@x${domain}`)).toThrow(InvalidRequest);
  });

  it('refuses a domain label over 63 characters, and takes one of 63', () => {
    expect(normalizeEmail(`a@${'b'.repeat(63)}.example`)).toBe(`a@${'b'.repeat(63)}.example`);
    expect(() => normalizeEmail(`a@${'b'.repeat(64)}.example`)).toThrow(InvalidRequest);
    expect(() => normalizeEmail(`a@example.${'c'.repeat(64)}`)).toThrow(InvalidRequest);
    expect(() => normalizeEmail(`a@${'ü'.repeat(64)}.example`)).toThrow(InvalidRequest);
  });

  it('refuses a local part over 64 characters', () => {
    expect(() => normalizeEmail(`${'a'.repeat(65)}@example.com`)).toThrow(InvalidRequest);
  });

  it('refuses malformed addresses', () => {
    const bad = [
      '',
      '   ',
      'plainaddress',
      '@example.com',
      'alice@',
      'alice@@example.com',
      'a@b@example.com',
      'alice@localhost',
      'alice@.example.com',
      'alice@example.',
      'alice@example..com',
      'alice@-example.com',
      'alice@example-.com',
      'al ice@example.com',
      'alice@exa mple.com',
      'alice\u0000@example.com',
      'alice\t@example.com',
      '"alice"@example.com',
      'alice@[127.0.0.1]',
      'a<b>@example.com',
      'alice@example.com,bob@example.com',
    ];
    for (const email of bad) expect(() => normalizeEmail(email), JSON.stringify(email)).toThrow(InvalidRequest);
  });

  it('refuses invisible, direction-changing and malformed characters, which would let one address pass for another', () => {
    const lookalikes = [
      'admin\u200B@pico.local', // zero-width space
      'ad\u00ADmin@pico.local', // soft hyphen
      '\u202Egro.live@x.io', // right-to-left override
      'admin@pico\u2060.local', // word joiner
      'admin\u00A0@pico.local', // no-break space
      'admin\u3000@pico.local', // ideographic space
      'a\uD800@x.io', // lone surrogate
      'a\uE000@x.io', // private use
      'a\u0085@x.io', // C1 control
    ];
    for (const email of lookalikes) expect(() => normalizeEmail(email), JSON.stringify(email)).toThrow(InvalidRequest);
    expect(normalizeEmail('josé@exämple.com')).toBe('josé@exämple.com');
    expect(normalizeEmail('пользователь@пример.рф')).toBe('пользователь@пример.рф');
  });

  it('refuses hostile, backtracking-shaped input fast', () => {
    const hostile = [
      `${'a'.repeat(50_000)}@`,
      `${'a'.repeat(50_000)}@example.com`,
      `${'a.'.repeat(25_000)}@x.io`,
      `a@${'a.'.repeat(100)}`,
      `${'@'.repeat(200)}`,
      `${' '.repeat(100_000)}a@b.co`,
      `a@${'-a'.repeat(120)}.io!`,
    ];
    const started = performance.now();
    for (const email of hostile) expect(() => normalizeEmail(email)).toThrow(InvalidRequest);
    // A few milliseconds when linear; backtracking would take minutes. The bound leaves room for a busy machine.
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('lookupEmail', () => {
  it('spells an address as normalizeEmail does, without judging its shape', () => {
    expect(lookupEmail('  Alice.Smith+tag@Example.COM \n')).toBe(normalizeEmail('  Alice.Smith+tag@Example.COM \n'));
    expect(lookupEmail('ju\u0308rgen@X.io')).toBe('j\u00fcrgen@x.io');
    for (const email of ['ops@intranet', 'Admin@LocalHost', 'not-an-email']) {
      expect(() => normalizeEmail(email)).toThrow(InvalidRequest);
      expect(lookupEmail(email)).toBe(email.toLowerCase());
    }
  });

  it('refuses an empty address and one over 254 characters', () => {
    expect(() => lookupEmail('   ')).toThrow(InvalidRequest);
    expect(lookupEmail(`${'a'.repeat(249)}@x.io`)).toHaveLength(254);
    expect(() => lookupEmail(`${'a'.repeat(250)}@x.io`)).toThrow(InvalidRequest);
  });
});
