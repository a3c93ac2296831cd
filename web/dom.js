// dom.js – building page elements: one way, so that record texts always go in as text, never as markup.

/** A `tag` element with an optional class and text content. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}
