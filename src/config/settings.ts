// The mechanism behind every table of environment variables (the app's in table.ts, the operator's
// tool's in src/ops/settings.ts): one entry per variable says how to parse it, its default, what it
// accepts and a help line; the loaders read through it and docs/configuration.md is written from it.

import { ConfigError } from './types.ts';

export type Env = Record<string, string | undefined>;

/** One environment variable: how to read it, and what the documentation says about it. */
export interface Setting<T> {
  /** For the documentation: integer, boolean, string, secret, URL, list, ... */
  readonly type: string;
  readonly help: string;
  /** The value when the variable is unset or empty. */
  readonly default: T;
  /** For the documentation, when the default is computed at start or depends on another variable. */
  readonly defaultText?: string;
  /** For the documentation: the range or the allowed values. */
  readonly allowed?: string;
  /** Never printed; the documentation marks it. */
  readonly secret?: boolean;
  /** An integer's bounds, both accepted. */
  readonly range?: { readonly min: number; readonly max: number };
  /** The value of a set variable, or a ConfigError naming it. */
  parse(raw: string, name: string): T;
}

export type SettingsTable = Record<string, Setting<unknown>>;
export type ValueOf<S> = S extends Setting<infer T> ? T : never;

/**
 * The variables of `table` as read from `env`: an empty variable counts as unset and takes the
 * default. A default computed at start (the host name, the CPUs) is the table's `undefined`, which
 * the loader replaces.
 */
export function reader<S extends SettingsTable>(env: Env, table: S) {
  return <K extends keyof S & string>(name: K): ValueOf<S[K]> => {
    const setting = table[name]!;
    const raw = env[name];
    if (raw === undefined || raw === '') return setting.default as ValueOf<S[K]>;
    return setting.parse(raw, name) as ValueOf<S[K]>;
  };
}

interface Doc {
  help: string;
  defaultText?: string;
  allowed?: string;
  secret?: boolean;
}

/** A whole number within [min, max]; `rule`, when given, is a further condition with its message. */
export function integer(
  o: Doc & {
    default: number;
    min: number;
    max: number;
    rule?: { holds: (n: number) => boolean; message: string; text: string };
  },
): Setting<number>;
export function integer(
  o: Doc & { default?: undefined; min: number; max: number },
): Setting<number | undefined>;
export function integer(
  o: Doc & {
    default?: number;
    min: number;
    max: number;
    rule?: { holds: (n: number) => boolean; message: string; text: string };
  },
): Setting<number | undefined> {
  return {
    type: 'integer',
    help: o.help,
    default: o.default,
    defaultText: o.defaultText,
    allowed: o.allowed ?? `${o.min} to ${o.max}${o.rule ? `, ${o.rule.text}` : ''}`,
    secret: o.secret,
    range: { min: o.min, max: o.max },
    parse(raw, name) {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got "${raw}"`);
      const n = Number(raw);
      if (n < o.min || n > o.max)
        throw new ConfigError(name, `must be between ${o.min} and ${o.max}, got ${n}`);
      if (o.rule && !o.rule.holds(n)) throw new ConfigError(name, o.rule.message);
      return n;
    },
  };
}

export function boolean(o: Doc & { default: boolean }): Setting<boolean> {
  return {
    type: 'boolean',
    help: o.help,
    default: o.default,
    allowed: o.allowed ?? '1, true, yes, on / 0, false, no, off',
    parse(raw, name) {
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(name, `must be true or false, got "${raw}"`);
    },
  };
}

/** One of a few words; `refusal` words the error for a value that is none of them. */
export function oneOf<const W extends string>(
  o: Doc & { default: W; words: readonly W[]; refusal: (raw: string) => string },
): Setting<W> {
  return {
    type: 'string',
    help: o.help,
    default: o.default,
    allowed: o.allowed ?? o.words.join(', '),
    parse(raw, name) {
      if (!(o.words as readonly string[]).includes(raw)) throw new ConfigError(name, o.refusal(raw));
      return raw as W;
    },
  };
}

/** Free text, or text that must match `pattern` (`refusal` words the error). */
export function text(
  o: Doc & { default: string; pattern?: RegExp; refusal?: (raw: string) => string },
): Setting<string>;
export function text(
  o: Doc & { default?: undefined; pattern?: RegExp; refusal?: (raw: string) => string },
): Setting<string | undefined>;
export function text(
  o: Doc & { default?: string; pattern?: RegExp; refusal?: (raw: string) => string },
): Setting<string | undefined> {
  return {
    type: o.secret ? 'secret' : 'string',
    help: o.help,
    default: o.default,
    defaultText: o.defaultText,
    allowed: o.allowed,
    secret: o.secret,
    parse(raw, name) {
      if (o.pattern && !o.pattern.test(raw))
        throw new ConfigError(name, o.refusal?.(raw) ?? `"${raw}" is not valid`);
      return raw;
    },
  };
}

/** Comma-separated items, blanks dropped. */
export function list(o: Doc & { default: string[] }): Setting<string[]> {
  return {
    type: 'list',
    help: o.help,
    default: o.default,
    defaultText: o.defaultText,
    allowed: o.allowed,
    parse: (raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
  };
}

/** A setting whose parsing is its own (addresses, URLs); the table still documents it. */
export function custom<T>(o: Doc & { type: string; default: T; parse: (raw: string, name: string) => T }) {
  const s: Setting<T> = { ...o };
  return s;
}

/** The documentation of a table: one Markdown row per variable. */
export function settingsTable(table: SettingsTable): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const shown = (s: Setting<unknown>) => {
    if (s.defaultText !== undefined) return s.defaultText;
    if (s.default === undefined) return '(unset)';
    if (Array.isArray(s.default)) return `\`${s.default.join(',')}\``;
    return `\`${String(s.default)}\``;
  };
  const rows = Object.entries(table).map(([name, s]) =>
    [`\`${name}\``, s.type, shown(s), s.allowed ?? '', s.secret ? 'yes' : '', s.help].map(cell).join(' | '),
  );
  return [
    '| variable | type | default | allowed | secret | what |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n');
}
