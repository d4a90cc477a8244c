/* zohoauth — building the page: `$` finds by id, `el` makes an element.
 *
 * Everything that came from Zoho or the user reaches the page through textContent (`text`, or a
 * child string), never as HTML.
 */

export const $ = (id) => document.getElementById(id);

/** `el("button", {type: "button", onclick: f, text: "Save"}, child, ...)` → a new element.
 * `class`, `text` and `on<event>` are special; null, undefined and false attributes and children
 * are left out; `true` sets an empty attribute. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
