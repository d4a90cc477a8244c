/* zohoauth — what is wrong with one form field, from Zoho's field metadata, before sending.
 *
 * `problemOf(field, input)` → a sentence for the person, or null. It checks what the metadata
 * tells: required (`system_mandatory`), the maximum length (`length`), an email's shape, a
 * number's form and range. Zoho checks again on save; what it refuses anyway is shown next to
 * the field in Zoho's own words (dialogs.js).
 */

// Zoho CRM's integer fields hold 32-bit numbers; a currency or decimal at most 16 digits
// before the point when the metadata gives no length.
const INT_MAX = 2147483647;
const DECIMAL_DIGITS = 16;
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const TEXT_TYPES = new Set(["text", "textarea", "email", "phone", "website"]);

export function labelOf(field) {
  return field.display_label || field.field_label || field.api_name.replace(/_/g, " ");
}

export function problemOf(field, input) {
  if (field.data_type === "boolean") return null;
  const label = labelOf(field);
  if (input.validity && input.validity.badInput) return "Enter a number in " + label + ".";
  const raw = input.value.trim();
  if (raw === "") return field.system_mandatory ? label + " is required." : null;
  const type = field.data_type;
  if (TEXT_TYPES.has(type) && field.length && raw.length > field.length) {
    return label + " can be at most " + field.length + " characters; this is " + raw.length + ".";
  }
  if (type === "email" && !EMAIL.test(raw)) {
    return "Enter an email address like name@example.com.";
  }
  if (type === "integer") {
    if (!/^[-+]?\d+$/.test(raw)) return label + " must be a whole number.";
    const max = field.length ? Math.min(INT_MAX, 10 ** field.length - 1) : INT_MAX;
    const n = Number(raw);
    if (Math.abs(n) > max) return label + " must be between " + (-max).toLocaleString() + " and " + max.toLocaleString() + ".";
  }
  if (type === "currency" || type === "double") {
    const n = Number(raw);
    if (!Number.isFinite(n)) return label + " must be a number.";
    const digits = field.length || DECIMAL_DIGITS;
    if (Math.abs(Math.trunc(n)).toString().length > digits) {
      return label + " can have at most " + digits + " digits before the decimal point.";
    }
  }
  return null;
}
