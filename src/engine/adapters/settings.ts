/**
 * A small settings schema for interceptors and post-eval hooks: each declares its keys once, with a kind
 * per key; the TypeScript type of the settings and the validation both come from that declaration.
 * (zod would take longer to load than the whole engine CLI takes to start; see docs/PERFORMANCE.md.)
 */
import { NelError } from '../../common/errors.js';
import { isPlainObject, type Obj } from '../../common/objects.js';

interface KindTypes {
  string: string;
  number: number;
  boolean: boolean;
  list: unknown[];
  'string-list': string[];
  'number-list': number[];
  map: Obj;
  'string-map': Record<string, string>;
}
export type SettingKind = keyof KindTypes;

export interface Setting<K extends SettingKind = SettingKind> {
  readonly kind: K;
  /** `null` is accepted (upstream's "default null"). */
  readonly nullable?: boolean;
  /** For strings: the values accepted. */
  readonly choices?: readonly string[];
}

export type SettingsSchema = Readonly<Record<string, Setting>>;

/** The settings object a schema describes (every key optional: a component checks what it needs). */
export type SettingsOf<S extends SettingsSchema> = { [K in keyof S]?: SettingValue<S[K]> };
type SettingValue<T extends Setting> = KindTypes[T['kind']] | (T['nullable'] extends true ? null : never);

/** Every interceptor and hook also accepts `log_level`, as upstream's. */
export const COMMON_SETTINGS = {
  log_level: { kind: 'string', nullable: true },
} as const satisfies SettingsSchema;

const isKind: { [K in SettingKind]: (v: unknown) => boolean } = {
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  boolean: (v) => typeof v === 'boolean',
  list: (v) => Array.isArray(v),
  'string-list': (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
  'number-list': (v) => Array.isArray(v) && v.every((x) => typeof x === 'number'),
  map: (v) => isPlainObject(v),
  'string-map': (v) => isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string'),
};

const kindName: Record<SettingKind, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  list: 'a list',
  'string-list': 'a list of strings',
  'number-list': 'a list of numbers',
  map: 'a mapping',
  'string-map': 'a mapping of strings',
};

/**
 * Check `raw` against `schema` (plus COMMON_SETTINGS); `what` names the component, e.g.
 * `interceptor 'caching'`. Throws one ENGINE_CONFIG line naming the allowed keys.
 */
export function checkSettings<S extends SettingsSchema>(what: string, schema: S, raw: Obj): SettingsOf<S> {
  const all: SettingsSchema = { ...COMMON_SETTINGS, ...schema };
  const allowed = Object.keys(all).sort();
  for (const [key, value] of Object.entries(raw)) {
    const s = all[key];
    if (!s) {
      throw new NelError(
        'ENGINE_CONFIG',
        `Unknown setting '${key}' of ${what}. Allowed: ${allowed.join(', ')}`,
        {
          hint: 'check the spelling under config:',
        },
      );
    }
    if (value === null && s.nullable) continue;
    if (value === null || value === undefined || !isKind[s.kind](value)) {
      throw new NelError(
        'ENGINE_CONFIG',
        `Setting '${key}' of ${what} must be ${kindName[s.kind]}${s.nullable ? ' or null' : ''}, not ${JSON.stringify(value)}`,
      );
    }
    if (s.choices && !s.choices.includes(value as string)) {
      throw new NelError(
        'ENGINE_CONFIG',
        `Setting '${key}' of ${what} must be one of ${s.choices.join(', ')}, not ${JSON.stringify(value)}`,
      );
    }
  }
  return raw as SettingsOf<S>;
}
