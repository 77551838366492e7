/** Small WebAssembly-text builders shared by the kernel generators. */

/** `for (counter; counter < limit (unsigned); counter += step) body`; the caller sets the counter first. */
export const loop = (label: string, counter: string, limit: string, step: string, body: string): string => `
    (block $${label}_end (loop $${label}
      (br_if $${label}_end (i32.ge_u (local.get ${counter}) ${limit}))
      ${body}
      (local.set ${counter} (i32.add (local.get ${counter}) ${step}))
      (br $${label})))`;

/** The unsigned minimum of two i32 expressions (both are evaluated). */
export const minU = (x: string, y: string): string => `(select ${x} ${y} (i32.lt_u ${x} ${y}))`;
