import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../../src/app/errors.ts';
import { PRODUCTS } from '../../src/app/products.ts';
import { cartItemsFromForm, cartItemsFromJson, credentials, normaliseEmail } from '../../src/app/validate.ts';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HttpError);
    assert.equal(err.statusCode, 400);
    return err.field;
  }
  assert.fail('expected a 400');
}

describe('input validation', () => {
  it('normalises emails and refuses bad ones, naming the field', () => {
    assert.equal(normaliseEmail('  Alice@Example.COM '), 'alice@example.com');
    for (const bad of ['', 'no-at-sign', 'a@b', `${'x'.repeat(250)}@example.com`, 3, null, ['a@b.c']]) {
      assert.equal(
        fieldOf(() => normaliseEmail(bad)),
        'email',
        String(bad),
      );
    }
  });

  it('checks passwords: type, length, new-account minimum', () => {
    assert.deepEqual(credentials({ email: 'a@b.co', password: 'x' }, false), {
      email: 'a@b.co',
      password: 'x',
    });
    assert.equal(
      fieldOf(() => credentials({ email: 'a@b.co', password: 'short' }, true)),
      'password',
    );
    assert.equal(
      fieldOf(() => credentials({ email: 'a@b.co', password: 'p'.repeat(129) }, false)),
      'password',
    );
    assert.equal(
      fieldOf(() => credentials({ email: 'a@b.co', password: 12345678 }, false)),
      'password',
    );
    assert.equal(
      fieldOf(() => credentials('a string', false)),
      'body',
    );
    assert.equal(
      fieldOf(() => credentials([], false)),
      'body',
    );
  });

  it('accepts JSON quantities 0..99 of known products only, without coercion', () => {
    const ok = cartItemsFromJson({ items: { [PRODUCTS[0]!.id]: 0, [PRODUCTS[1]!.id]: 99 } });
    assert.deepEqual(
      [...ok],
      [
        [PRODUCTS[0]!.id, 0],
        [PRODUCTS[1]!.id, 99],
      ],
    );
    const id = PRODUCTS[2]!.id;
    for (const bad of [-1, 100, 1.5, '3', null, true, 1e300, Number.NaN]) {
      assert.equal(
        fieldOf(() => cartItemsFromJson({ items: { [id]: bad } })),
        `items.${id}`,
        String(bad),
      );
    }
    assert.equal(
      fieldOf(() => cartItemsFromJson({ items: { bogus: 1 } })),
      'items.bogus',
    );
    assert.equal(
      fieldOf(() => cartItemsFromJson({ items: [] })),
      'items',
    );
    assert.equal(
      fieldOf(() => cartItemsFromJson({ items: {} })),
      'items',
    );
    assert.equal(
      fieldOf(() => cartItemsFromJson({})),
      'items',
    );
  });

  it('accepts form quantities as decimal digits and names the bad field', () => {
    const id = PRODUCTS[0]!.id;
    assert.deepEqual([...cartItemsFromForm({ _csrf: 'x', [`qty_${id}`]: ' 7 ' })], [[id, 7]]);
    assert.deepEqual([...cartItemsFromForm({ [`qty_${id}`]: '' })], [[id, 0]]);
    for (const bad of ['-1', '1.5', '100', 'abc', '1e2', '0x10']) {
      assert.equal(
        fieldOf(() => cartItemsFromForm({ [`qty_${id}`]: bad })),
        `qty_${id}`,
        bad,
      );
    }
    assert.equal(
      fieldOf(() => cartItemsFromForm({ [`qty_${id}`]: ['1', '2'] })),
      `qty_${id}`,
    );
    assert.equal(
      fieldOf(() => cartItemsFromForm({ qty_bogus: '1' })),
      'qty_bogus',
    );
    assert.equal(
      fieldOf(() => cartItemsFromForm({ other: '1' })),
      'other',
    );
  });
});
