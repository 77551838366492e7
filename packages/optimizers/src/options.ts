/**
 * Option checking shared by the seven optimizers: every option is declared once with its Keras
 * default and its valid range, so the constructors, `optimizerFromConfig` and the error messages
 * all agree.
 */

/** A numeric option: finite, with a lower bound and an optional upper bound. */
export interface NumberOption {
  readonly kind: 'number';
  readonly default: number;
  readonly min: number;
  /** true: `min` itself is allowed (`>= min`); false: `> min`. */
  readonly minInclusive: boolean;
  /** Exclusive upper bound (`< max`); absent means no upper bound. */
  readonly max?: number;
}

/** A boolean option. */
export interface BooleanOption {
  readonly kind: 'boolean';
  readonly default: boolean;
}

/** The declaration of one option. */
export type OptionSpec = NumberOption | BooleanOption;

/** Declarations of every option an optimizer accepts, keyed by camelCase name. */
export type OptionSchema<C> = { readonly [K in keyof C]: C[K] extends boolean ? BooleanOption : NumberOption };

/** `>= min` (inclusive) or `> min`, no upper bound. */
export function atLeast(defaultValue: number, min: number, minInclusive = true): NumberOption {
  return { kind: 'number', default: defaultValue, min, minInclusive };
}

/** `[0, 1)`: decay rates and momentum factors. */
export function unitInterval(defaultValue: number): NumberOption {
  return { kind: 'number', default: defaultValue, min: 0, minInclusive: true, max: 1 };
}

/** A boolean option. */
export function flag(defaultValue: boolean): BooleanOption {
  return { kind: 'boolean', default: defaultValue };
}

/** Shows a rejected value the way a user typed it (strings quoted, objects as JSON). */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
    return String(value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function describeRange(spec: NumberOption): string {
  if (spec.max === undefined) return `${spec.minInclusive ? '>=' : '>'} ${spec.min}`;
  return `in ${spec.minInclusive ? '[' : '('}${spec.min}, ${spec.max})`;
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Checks `options` against `schema` and returns the full config (defaults filled in), frozen.
 * `owner` starts every error message (`Adam: beta1 must be in [0, 1), got 1.5`). An option set
 * to `undefined` counts as absent, as TypeScript's optional properties suggest.
 */
export function resolveOptions<C extends Record<string, number | boolean>>(
  owner: string,
  options: unknown,
  schema: OptionSchema<C>,
): Readonly<C> {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an object, got ${formatValue(options)}`);
  }
  const given = options as Record<string, unknown>;
  const known = Object.keys(schema);
  for (const key of Object.keys(given)) {
    if (Object.hasOwn(schema, key)) continue;
    // Keras configs spell options in snake_case; say which name Loom uses instead.
    const camel = snakeToCamel(key);
    const hint = camel !== key && Object.hasOwn(schema, camel) ? ` (Loom spells it ${camel})` : '';
    throw new TypeError(`${owner}: unknown option ${formatValue(key)}${hint}; known options: ${known.join(', ')}`);
  }
  const config: Record<string, number | boolean> = {};
  for (const key of known) {
    const spec = (schema as Record<string, OptionSpec>)[key]!;
    const value = given[key];
    if (value === undefined) {
      config[key] = spec.default;
    } else if (spec.kind === 'boolean') {
      if (typeof value !== 'boolean') {
        throw new TypeError(`${owner}: ${key} must be a boolean, got ${formatValue(value)}`);
      }
      config[key] = value;
    } else {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (spec.minInclusive ? value >= spec.min : value > spec.min) &&
        (spec.max === undefined || value < spec.max);
      if (!ok) {
        const isNumber = typeof value === 'number' && Number.isFinite(value);
        const what = isNumber ? '' : 'a finite number ';
        const ErrorType = typeof value === 'number' ? RangeError : TypeError;
        throw new ErrorType(`${owner}: ${key} must be ${what}${describeRange(spec)}, got ${formatValue(value)}`);
      }
      config[key] = value;
    }
  }
  return Object.freeze(config) as Readonly<C>;
}
