/**
 * Every string identifier (a loss, metric, activation or initializer) also has a typed object
 * form, as in Keras: `new CategoricalCrossentropy()`, `new HeNormal()`, `activations.relu`. Both
 * reduce to the identifier here, where a user's value comes in; inside (and in checkpoints)
 * Loom keeps the string, so a model built either way is the same model.
 */
export interface Identified {
  readonly name: string;
}

/** The string identifier of `value` (a name, or an object carrying one); `argName` labels errors. */
export function identifierOf(value: string | Identified, argName: string): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as Identified).name === 'string') return (value as Identified).name;
  throw new TypeError(`${argName} must be a name or an object with a name (e.g. new CategoricalCrossentropy()), got ${value === null ? 'null' : typeof value}`);
}
