/** Text measures shared by the engine and the model servers. */

const SURROGATE = /[\uD800-\uDFFF]/;

/** Length in code points (Python's len, the unit of vLLM's text_offset). */
export function codePointLength(text: string): number {
  // most texts have no surrogate at all: their length in code points is their length
  if (!SURROGATE.test(text)) return text.length;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
