// Mentions, the pure part: which members an `@` being typed may mean (Hangul initial
// consonants included: `ㄱㅁ` finds 김민수), what to put in the text when one is picked,
// and where a stored message's body names the people its `mentions` list (so that the
// page can highlight them). The server resolves mentions; the page only shows them.

const SYLLABLE_FIRST = 0xac00;
const SYLLABLE_LAST = 0xd7a3;
const PER_INITIAL = 21 * 28;   // medials × finals: the syllables that share an initial
// The 19 initial consonants, in the order of the syllable block, as compatibility jamo
// (what a Korean keyboard types on its own: ㄱ, not the conjoining ᄀ).
const INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ";
const INITIAL_SET = new Set(INITIALS);

/** The words that mention everyone (`@room`) or everyone online (`@here`). */
export const BROADCASTS = ["room", "here"];

// A username's characters (the server's [\w.\-], Unicode-aware); `@` must not follow a
// word or an address's characters ("kim@example.com" mentions nobody).
const NAME_CHAR = /[\p{L}\p{M}\p{N}_.-]/u;
const MENTION = /(?<![\p{L}\p{M}\p{N}_.\-@＠])[@＠]([\p{L}\p{M}\p{N}_.-]+)/gu;

const isSyllable = (code) => code >= SYLLABLE_FIRST && code <= SYLLABLE_LAST;

/** How a username compares: NFKC and lower case (the server's key, near enough). */
export function nameKey(name) {
  return String(name ?? "").normalize("NFKC").toLowerCase();
}

// What is typed after `@`, keyed like a name, except that consonants typed alone stay
// themselves (NFKC would turn the compatibility jamo ㄱ into the conjoining ᄀ).
function queryKey(query) {
  return [...String(query ?? "")].map((char) => (INITIAL_SET.has(char) ? char : nameKey(char))).join("");
}

/** Each Hangul syllable of `text` as its initial consonant (`김민수` → `ㄱㅁㅅ`); other characters as they are. */
export function choseong(text) {
  let out = "";
  for (const char of String(text ?? "")) {
    const code = char.codePointAt(0);
    out += isSyllable(code) ? INITIALS[Math.floor((code - SYLLABLE_FIRST) / PER_INITIAL)] : char;
  }
  return out;
}

/**
 * Whether the query character `q` matches the name's character `c`: the same letter;
 * an initial consonant typed alone for a syllable that starts with it; and, for the
 * last character typed, a syllable still being composed (`미` while `민` is on its way)
 * for a syllable with the same initial and vowel.
 */
function charMatches(q, c, last) {
  if (q === c) return true;
  const qc = q.codePointAt(0);
  const cc = c.codePointAt(0);
  if (INITIAL_SET.has(q)) return isSyllable(cc) && choseong(c) === q;
  if (last && isSyllable(qc) && isSyllable(cc) && (qc - SYLLABLE_FIRST) % 28 === 0) {
    return Math.floor((cc - SYLLABLE_FIRST) / 28) === Math.floor((qc - SYLLABLE_FIRST) / 28);
  }
  return false;
}

/** Where `query` matches `name` (both keyed), as a character index, or -1. */
function matchAt(name, query) {
  const n = [...name];
  const q = [...query];
  for (let start = 0; start + q.length <= n.length; start += 1) {
    if (q.every((char, i) => charMatches(char, n[start + i], i === q.length - 1))) return start;
  }
  return -1;
}

/**
 * The suggestions for `query` (what follows the `@`), best first: members whose name
 * starts with it, then those containing it, then `@room` and `@here` when the query
 * starts them. `members` are {id, username}; `me` (my id) is left out: mentioning
 * oneself alerts nobody. Each is {kind: "member", id, username} or {kind: "room"|"here"}.
 */
export function suggestions(members, query, { me = null, limit = 8 } = {}) {
  const key = queryKey(query);
  const found = [];
  for (const [order, member] of (members ?? []).entries()) {
    if (!member || member.id === me || !member.username) continue;
    const at = key ? matchAt(nameKey(member.username), key) : 0;
    if (at < 0) continue;
    found.push({ rank: at === 0 ? 0 : 1, order, item: { kind: "member", id: member.id, username: member.username } });
  }
  found.sort((a, b) => a.rank - b.rank || a.order - b.order);
  const people = found.slice(0, limit).map((entry) => entry.item);
  const everyone = BROADCASTS.filter((word) => word.startsWith(key)).map((kind) => ({ kind }));
  return [...people, ...everyone];
}

/**
 * The mention being typed at `caret` in `text`: {start (of the `@`), query} or null.
 * A mention starts with `@` (or the full-width `＠`) at the start or after a character
 * that is not part of a name, and runs to the caret without a space.
 */
export function mentionAt(text, caret, maxLength = 32) {
  const source = String(text ?? "");
  let i = Math.min(caret ?? source.length, source.length);
  const end = i;
  while (i > 0) {
    const char = source[i - 1];
    if (char === "@" || char === "＠") {
      const before = i > 1 ? source[i - 2] : "";
      if (before && (NAME_CHAR.test(before) || before === "@" || before === "＠")) return null;
      const query = source.slice(i, end);
      return query.length <= maxLength ? { start: i - 1, query } : null;
    }
    if (!NAME_CHAR.test(char)) return null;
    i -= 1;
  }
  return null;
}

/**
 * `text` with the mention typed from `start` to `caret` (and the rest of that word)
 * replaced by `@word `: {text, caret} for the box after the pick.
 */
export function insertMention(text, start, caret, word) {
  const source = String(text ?? "");
  let end = caret;
  while (end < source.length && NAME_CHAR.test(source[end])) end += 1;
  const rest = source.slice(end);
  const inserted = `@${word}${rest.startsWith(" ") ? "" : " "}`;
  const head = source.slice(0, start) + inserted;
  return { text: head + rest, caret: head.length + (rest.startsWith(" ") ? 1 : 0) };
}

/** The usernames a name after `@` may mean, longest first: itself, then without a Hangul particle (`민지님` → `민지`). */
function candidates(name) {
  const chars = [...name];
  const out = [name];
  for (let cut = chars.length - 1; cut > 0; cut -= 1) {
    if (!isSyllable(chars[cut].codePointAt(0))) break;
    out.push(chars.slice(0, cut).join(""));
  }
  return out;
}

/**
 * A message body cut into pieces for showing it: strings, and {mention: text, userId}
 * or {mention: text, all: "room"|"here"} where it names someone it mentions. `mentioned`
 * maps the keyed usernames (nameKey) of the message's `mentions` to their ids;
 * `mentionAll` is the message's `mention_all`. Names it does not know stay text: the
 * server decided who was mentioned, the page only finds where.
 */
export function mentionPieces(body, mentioned = new Map(), mentionAll = null) {
  const source = String(body ?? "");
  const pieces = [];
  let last = 0;
  for (const match of source.matchAll(MENTION)) {
    const raw = match[1].replace(/[.-]+$/, "");
    let found = null;
    for (const candidate of candidates(raw)) {
      const key = nameKey(candidate);
      if (mentionAll && BROADCASTS.includes(key)) {
        found = { text: candidate, all: key };
        break;
      }
      if (mentioned.has(key)) {
        found = { text: candidate, userId: mentioned.get(key) };
        break;
      }
    }
    if (!found) continue;
    if (match.index > last) pieces.push(source.slice(last, match.index));
    const mention = match[0].slice(0, 1) + found.text;
    pieces.push(found.all ? { mention, all: found.all } : { mention, userId: found.userId });
    last = match.index + mention.length;
  }
  if (last < source.length) pieces.push(source.slice(last));
  return pieces;
}

/** Whether a message alerts `me`: mine by name, or everyone's (`@room`, `@here`), never my own. */
export function mentionsMe(message, me) {
  if (!message || message.sender?.id === me || message.deleted) return false;
  return Boolean(message.mention_all) || (message.mentions ?? []).includes(me);
}
