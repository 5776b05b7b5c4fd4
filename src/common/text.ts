// Text that clients give the API (names, SKUs, external ids, idempotency keys): one check
// for every field, so no field stores what another refuses. Refused: NUL (PostgreSQL text
// cannot hold it), lone UTF-16 surrogates (not text; they would be stored as U+FFFD), other
// control characters, and bidirectional embeddings, overrides and isolates (they make a
// value read differently from what it is: "Trojan Source" spoofing). Lengths count Unicode
// code points, so a 4-byte emoji is one character, as the limits in messages say.
import { userError, type UserError } from './user-errors';

// C0 and C1 controls, U+202A..U+202E (embeddings, overrides), U+2066..U+2069 (isolates),
// and surrogates that are not part of a pair.
const FORBIDDEN =
  /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `text` holds a character that no text field accepts. */
export function hasForbiddenCharacters(text: string): boolean {
  return FORBIDDEN.test(text);
}

/** Length in Unicode code points (what a person counts as characters, near enough). */
export function characterCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i += 1;
    }
    count += 1;
  }
  return count;
}

/** The text fields checkText knows, with the prefix of their codes. */
const TEXT_LABELS = { sku: 'SKU', name: 'NAME', externalId: 'EXTERNAL_ID' } as const;
export type TextLabel = keyof typeof TEXT_LABELS;

/** Every code a text check refuses with: a closed set, mapped in src/http/error-codes.ts. */
export const TEXT_ERROR_CODES = [
  'SKU_REQUIRED',
  'SKU_TOO_LONG',
  'NAME_REQUIRED',
  'NAME_TOO_LONG',
  'EXTERNAL_ID_REQUIRED',
  'EXTERNAL_ID_TOO_LONG',
  'INVALID_CHARACTERS',
] as const satisfies readonly (`${(typeof TEXT_LABELS)[TextLabel]}_${'REQUIRED' | 'TOO_LONG'}` | 'INVALID_CHARACTERS')[];
export type TextErrorCode = (typeof TEXT_ERROR_CODES)[number];

function textError(code: TextErrorCode, message: string, field: string[]): UserError {
  return userError(code, message, field);
}

/**
 * Checks a required text input: trimmed, non-empty, at most `max` characters, no forbidden
 * characters. Codes: `<LABEL>_REQUIRED`, `<LABEL>_TOO_LONG`, `INVALID_CHARACTERS`.
 * `label` is the field's name as messages show it ("sku", "externalId").
 */
export function checkText(
  raw: string,
  field: string[],
  label: TextLabel,
  max: number,
): { value: string; error?: undefined } | { value?: undefined; error: UserError } {
  const value = raw.trim();
  const prefix = TEXT_LABELS[label];
  if (value.length === 0) return { error: textError(`${prefix}_REQUIRED`, `${label} must not be empty`, field) };
  if (characterCount(value) > max) return { error: textError(`${prefix}_TOO_LONG`, `${label} must be at most ${max} characters`, field) };
  if (hasForbiddenCharacters(value)) return { error: invalidCharacters(label, field) };
  return { value };
}

/** The userError for text with a forbidden character. */
export function invalidCharacters(label: string, field: string[]): UserError {
  return textError(
    'INVALID_CHARACTERS',
    `${label} must not contain control characters, bidirectional overrides or unpaired surrogates`,
    field,
  );
}
