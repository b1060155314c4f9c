/**
 * A second interpreter of the launcher's schema source (schema.ts `defineLauncherSchema`), for start-up:
 * the same builder calls that make the zod schema make, here, a plain boolean check that needs no zod.
 * Loading zod costs more than the rest of a dry run, so a config this check accepts is never shown to
 * zod; zod is loaded only to explain a config this check does not accept.
 *
 * Only a subset of zod's builder is interpreted (what the schema uses). Any other method or
 * constructor yields a node that accepts nothing, so the fast path never accepts what it does not
 * understand: it falls back to zod, which stays correct (only slower), and the generated-config test
 * (test/config-fast-path.test.ts) reports the disagreement.
 */
import type { z as Z } from 'zod';

type Check = (v: unknown) => boolean;
type Kind = 'string' | 'number' | 'other';

/** A node of the fast schema: its check, and whether an object may omit a key holding it. */
export class FastNode {
  constructor(
    readonly check: Check,
    readonly kind: Kind = 'other',
    readonly optionalKey = false,
  ) {}
  private and(extra: Check): FastNode {
    const base = this.check;
    return new FastNode((v) => base(v) && extra(v), this.kind, this.optionalKey);
  }
  optional(): FastNode {
    const base = this.check;
    return new FastNode((v) => v === undefined || base(v), this.kind, true);
  }
  nullable(): FastNode {
    const base = this.check;
    return new FastNode((v) => v === null || base(v), this.kind, this.optionalKey);
  }
  nullish(): FastNode {
    return this.nullable().optional();
  }
  int(): FastNode {
    return this.and((v) => Number.isSafeInteger(v));
  }
  positive(): FastNode {
    return this.and((v) => (v as number) > 0);
  }
  nonnegative(): FastNode {
    return this.and((v) => (v as number) >= 0);
  }
  min(n: number): FastNode {
    if (this.kind === 'string') return this.and((v) => (v as string).length >= n);
    if (this.kind === 'number') return this.and((v) => (v as number) >= n);
    return NEVER;
  }
  max(n: number): FastNode {
    if (this.kind === 'string') return this.and((v) => (v as string).length <= n);
    if (this.kind === 'number') return this.and((v) => (v as number) <= n);
    return NEVER;
  }
}

const NEVER_CHECK: Check = () => false;
const NEVER: FastNode = new FastNode(NEVER_CHECK);

/** Unknown methods on a node give NEVER (see the module comment). */
function guarded(node: FastNode): FastNode {
  return new Proxy(node, {
    get(target, prop, receiver) {
      const own = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'check') return own;
      if (own === undefined && typeof prop === 'string') return () => guarded(NEVER);
      if (typeof own === 'function')
        return (...args: unknown[]) => {
          const out = (own as (...a: unknown[]) => unknown).apply(target, args);
          return out instanceof FastNode ? guarded(out) : out;
        };
      return own;
    },
  });
}

const isObjectLike = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
/** zod's record wants a plain object (prototype Object.prototype or null). */
const isPlainRecord = (v: unknown): v is Record<string, unknown> => {
  if (!isObjectLike(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};
const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function objectNode(shape: Record<string, FastNode>, strict: boolean): FastNode {
  const entries = Object.entries(shape);
  return new FastNode((v) => {
    if (!isObjectLike(v)) return false;
    if (strict && !Object.keys(v).every((k) => has(shape, k))) return false;
    return entries.every(([k, node]) => (has(v, k) ? node.check(v[k]) : node.optionalKey));
  });
}

const builders = {
  string: () => new FastNode((v) => typeof v === 'string', 'string'),
  number: () => new FastNode((v) => typeof v === 'number' && Number.isFinite(v), 'number'),
  boolean: () => new FastNode((v) => typeof v === 'boolean'),
  null: () => new FastNode((v) => v === null),
  unknown: () => new FastNode(() => true),
  enum: (values: readonly unknown[]) => new FastNode((v) => values.includes(v)),
  literal: (value: unknown) => new FastNode((v) => v === value),
  union: (options: FastNode[]) => new FastNode((v) => options.some((o) => o.check(v))),
  array: (of: FastNode) => new FastNode((v) => Array.isArray(v) && v.every((x) => of.check(x))),
  record: (key: FastNode, value: FastNode) =>
    new FastNode(
      (v) => isPlainRecord(v) && Object.entries(v).every(([k, x]) => key.check(k) && value.check(x)),
    ),
  strictObject: (shape: Record<string, FastNode>) => objectNode(shape, true),
  looseObject: (shape: Record<string, FastNode>) => objectNode(shape, false),
  object: (shape: Record<string, FastNode>) => objectNode(shape, false),
};

/**
 * The stand-in for zod's `z` that `defineLauncherSchema` is given to build the fast check. Its type
 * claims to be zod's so the one schema source type-checks against zod; at run time only the subset
 * above exists, and anything else accepts nothing.
 */
export const fastZ = new Proxy(builders, {
  get(target, prop) {
    const b = (target as Record<string | symbol, unknown>)[prop];
    if (typeof b !== 'function') return () => guarded(NEVER);
    return (...args: unknown[]) => guarded((b as (...a: unknown[]) => FastNode)(...args));
  },
}) as unknown as typeof Z;

/** The check of a schema built with `fastZ`. */
export function fastCheck(schema: unknown): Check {
  if (!(schema instanceof FastNode)) return NEVER_CHECK;
  return schema.check;
}
