import fc from 'fast-check';

// Generators of hostile and of valid GraphQL argument values, for test/graphql/bad-input.property.test.ts.

const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Any UTF-16 code unit: NUL, controls, lone surrogates, noncharacters. */
export const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
export const poison = fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff');
export const plain = fc.string({ maxLength: 24 });
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(plain, poison, plain).map(([a, p, b]) => a + p + b) },
  { weight: 1, arbitrary: fc.string({ unit: codeUnit, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', "' OR 1=1 --", '%', '_', '\\', '"', 'NaN', 'null', '\uFEFF', 'e\u0301', '\u{1F4A5}', '\u2028', 'x'.repeat(300)) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 120_000 }).map((length) => 'a'.repeat(length)) },
);
/** Mostly ordinary text (so calls also get past the first check and reach the services), sometimes hostile. */
export const text = fc.oneof({ weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }) }, { weight: 1, arbitrary: hostileString });
/** A value of the wrong GraphQL type for almost any argument. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(hostileString, { maxLength: 3 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
  fc.integer({ min: 1, max: 300 }).map((depth) => nest(depth, [])),
);
/** `depth` nested levels around `leaf`, alternating objects and arrays. */
export function nest(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value];
  return value;
}
export const jsonLeaf = fc.oneof(hostileString, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
export const attributes: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }) },
  fc.dictionary(hostileString, jsonLeaf, { maxKeys: 4 }),
  fc.tuple(fc.integer({ min: 1, max: 120 }), jsonLeaf).map(([depth, leaf]) => ({ root: nest(depth, leaf) })),
  fc.jsonValue({ maxDepth: 4 }),
);
export const someId = (prefix: string) =>
  fc.oneof(
    fc.string({ unit: fc.constantFrom(...ID_ALPHABET), minLength: 26, maxLength: 26 }).map((body) => `${prefix}_${body}`),
    hostileString.map((body) => `${prefix}_${body}`),
    hostileString,
    fc.integer(),
  );
export const isoTime = fc.oneof(
  { weight: 4, arbitrary: fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString()) },
  { weight: 1, arbitrary: fc.constantFrom('+275760-09-13T00:00:00.000Z', '2026-02-30T00:00:00Z', '2026-11-26T10:00:00+99:00') },
  { weight: 1, arbitrary: hostileString },
);
/** Cursors: the real `valid()` one, well-encoded ones with bad times or ids, other base64url, junk. */
export const cursors = (valid: () => string) => fc.oneof(
  fc.constant(null).map(valid),
  fc.tuple(fc.oneof(fc.integer({ min: -9e15, max: 9e15 }), fc.double(), fc.constantFrom(8_640_000_000_000_001, -8_640_000_000_000_001, Number.MAX_SAFE_INTEGER, -1)), fc.oneof(someId('evt'), someId('dlv'))).map((value) =>
    Buffer.from(JSON.stringify(value)).toString('base64url'),
  ),
  fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? '').toString('base64url')),
  fc.base64String({ maxLength: 80 }),
  hostileString,
);
/** Webhook URLs: loopback ones and junk. Anything else parsing as http(s) is dropped, so nothing but loopback is ever registered. */
export const url = fc
  .oneof(
    fc.tuple(fc.constantFrom('http://127.0.0.1:9/', 'http://[::1]:9/', 'http://127.0.0.1:9/?q='), hostileString).map(([base, tail]) => base + tail),
    fc.webUrl(),
    hostileString,
  )
  .filter((text) => {
    try {
      const parsed = new URL(text.trim());
      return !/^https?:$/.test(parsed.protocol) || parsed.hostname === '127.0.0.1' || parsed.hostname === '[::1]';
    } catch {
      return true;
    }
  });
export const authorization = fc.oneof(
  fc.constant(null),
  fc.record({ header: text }),
  fc.record({ basic: fc.record({ username: text, password: text }) }),
  fc.record({ header: text, basic: fc.record({ username: text, password: text }) }),
);
export const auditObject = fc.record(
  { id: text, type: text, name: fc.option(text, { nil: null }), attributes: fc.option(attributes, { nil: null }) },
  { requiredKeys: ['id', 'type'] },
);
export const auditEventInput = fc.record(
  {
    action: fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-z0-9]{0,10}(_[a-z0-9]{1,6}){0,3}$/) }, { weight: 1, arbitrary: hostileString }),
    actor: fc.record({ id: text, type: text, name: text, email: text }, { requiredKeys: ['id'] }),
    time: fc.oneof({ weight: 3, arbitrary: fc.date({ min: new Date('2000-01-01T00:00:00.000Z'), max: new Date('2100-01-01T00:00:00.000Z'), noInvalidDate: true }).map((d) => d.toISOString()) }, { weight: 1, arbitrary: isoTime }),
    context: fc.array(auditObject, { maxLength: 3 }),
    container: fc.array(auditObject, { maxLength: 2 }),
    location: fc.record({ ip: fc.oneof(fc.ipV4(), fc.ipV6(), hostileString), geo: text, countryName: text, regionName: text, city: text }, { requiredKeys: [] }),
    message: text,
    idempotencyKey: text,
  },
  { requiredKeys: ['action', 'actor'] },
);

/** Values every argument accepts; the poisoned-string property spoils exactly one string inside them. */
/** Ordinary non-blank text. */
export const word = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((w) => w.trim().length > 0);
export const safeKey = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
export const validObject = fc.record({ id: word, type: word, name: word, attributes: fc.dictionary(safeKey, fc.oneof(word, fc.integer(), fc.array(word, { maxLength: 2 }), fc.dictionary(word, word, { maxKeys: 2 })), { minKeys: 1, maxKeys: 3 }) });
export const validEvent = fc.record({
  action: fc.constantFrom('user_logged_in', 'group_renamed'),
  actor: fc.record({ id: word, type: word, name: word, email: word }),
  time: fc.constant('2026-11-26T10:00:00.000Z'),
  context: fc.array(validObject, { minLength: 1, maxLength: 2 }),
  container: fc.array(validObject, { maxLength: 1 }),
  location: fc.record({ ip: fc.constant('203.0.113.7'), geo: word, countryName: word, regionName: word, city: word }),
  message: word,
  idempotencyKey: word,
});
export const validAuthorization = fc.oneof(fc.record({ header: word.map((w) => `Bearer ${w}`) }), fc.record({ basic: fc.record({ username: word, password: word }) }));
/** Where a string sits in the variables, and the error field that names it (a JSON key is named by its object). */
export interface Slot {
  set: (value: string) => void;
  get: () => string;
  field: string;
}

/** Every string (and every key inside an `attributes` JSON object) of `variables`, walked iteratively. */
export function stringSlots(variables: Record<string, unknown>): Slot[] {
  const slots: Slot[] = [];
  const stack: { holder: any; key: string | number; path: string; inJson: boolean }[] = Object.keys(variables).map((key) => ({ holder: variables, key, path: key, inJson: false }));
  while (stack.length > 0) {
    const { holder, key, path, inJson } = stack.pop()!;
    const value = holder[key];
    if (typeof value === 'string') {
      slots.push({ get: () => holder[key], set: (next) => (holder[key] = next), field: path });
    } else if (Array.isArray(value)) {
      value.forEach((_, index) => stack.push({ holder: value, key: index, path: `${path}.${index}`, inJson }));
    } else if (value && typeof value === 'object') {
      for (const child of Object.keys(value)) {
        const json = inJson || child === 'attributes';
        if (inJson) {
          slots.push({
            get: () => child,
            set: (next) => {
              value[next] = value[child];
              delete value[child];
            },
            field: path,
          });
        }
        // Inside JSON, a key joins the path only when plain enough to print (as the server does).
        const childPath = inJson && !/^[A-Za-z0-9_-]{1,64}$/.test(child) ? path : `${path}.${child}`;
        stack.push({ holder: value, key: child, path: childPath, inJson: json });
      }
    }
  }
  return slots;
}

