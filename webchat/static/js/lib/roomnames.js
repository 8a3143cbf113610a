// Which rooms of a list need more than their name: two rooms of mine may share one, and
// then each shows its type, members and owner beside it. The pure part, the same rule as
// the server's (webchat/pages.py, shared_names), which renders the lists as loaded.

/** The names that occur more than once in `names`. */
export function sharedNames(names) {
  const seen = new Set();
  const shared = new Set();
  for (const name of names) {
    if (seen.has(name)) shared.add(name);
    seen.add(name);
  }
  return shared;
}
