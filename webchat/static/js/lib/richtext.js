// A message's formatted body as DOM. The one place the page turns HTML into nodes: a
// message's `html`, which the server rendered from its Markdown subset and sanitised
// with an allowlist before storing it (services/formatting.py: only the subset's tags,
// no attribute but a link's http/https/mailto href, rel and target). That sanitising is
// what makes inserting it safe. Nothing else is ever parsed as HTML: user text
// anywhere else on the page goes in as text nodes (dom.js's h()).

const parser = new DOMParser();

/**
 * The nodes of the server's sanitised `html`, as a fragment of this document. Parsed in
 * an inert document (DOMParser's: no script runs, nothing loads), then moved here.
 */
export function sanitisedFragment(html) {
  const fragment = document.createDocumentFragment();
  if (html) fragment.append(...parser.parseFromString(html, "text/html").body.childNodes);
  return fragment;
}

// Text inside these is shown as written: no mention or other highlight is looked for.
const LITERAL = "code, pre, a";

/**
 * Split the text nodes under `root` that lie outside code, pre and links by
 * `pieces(text)`: an array of strings (kept as text) and other values, each replaced by
 * the node `make(piece)` returns. A text with nothing but strings is left as it is.
 */
export function splitText(root, pieces, make) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement?.closest(LITERAL) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) texts.push(node);
  for (const node of texts) {
    const parts = pieces(node.data);
    if (parts.every((part) => typeof part === "string")) continue;
    node.replaceWith(...parts.map((part) => (typeof part === "string" ? document.createTextNode(part) : make(part))));
  }
  return root;
}
