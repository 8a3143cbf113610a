// The page scripts' catalog (lib/i18n.js): placeholders, plural forms by the page
// language's rules, and the msgids (English) when a message is missing.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { fill, locale, setCatalog, t, tn } from "../../webchat/static/js/lib/i18n.js";

const KOREAN = {
  locale: "ko",
  messages: {
    "{user} joined": "{user}님이 입장했습니다",
    "{count} member": ["멤버 {count}명"],
    "Read by {names} and {count} more": "{names} 외 {count}명 읽음",
  },
};
const ENGLISH = {
  locale: "en",
  messages: { "{count} member": ["{count} member", "{count} members"], "{user} joined": "{user} joined" },
};

afterEach(() => setCatalog(undefined));

test("without a catalog the msgid is the text, in English", () => {
  assert.equal(locale(), "en");
  assert.equal(t("{user} joined", { user: "alice" }), "alice joined");
  assert.equal(tn("{count} member", "{count} members", 1), "1 member");
  assert.equal(tn("{count} member", "{count} members", 3), "3 members");
});

test("named placeholders are filled, unknown ones are left as written", () => {
  assert.equal(fill("{a} and {b}", { a: 1, b: "two" }), "1 and two");
  assert.equal(fill("{a} and {b}", { a: 1 }), "1 and {b}");
  assert.equal(fill("{a}{a}", { a: "x" }), "xx");
  assert.equal(fill("no placeholders"), "no placeholders");
});

test("a translation replaces the msgid, its placeholders in its own order", () => {
  setCatalog(KOREAN);
  assert.equal(locale(), "ko");
  assert.equal(t("{user} joined", { user: "준호" }), "준호님이 입장했습니다");
  assert.equal(t("Read by {names} and {count} more", { names: "a, b, c", count: 2 }), "a, b, c 외 2명 읽음");
  // A message the catalog lacks reads as its msgid rather than as nothing.
  assert.equal(t("Sending…"), "Sending…");
});

test("Korean has one plural form: 3명, never 3 member(s)", () => {
  setCatalog(KOREAN);
  for (const n of [0, 1, 2, 3, 21, 100]) assert.equal(tn("{count} member", "{count} members", n), `멤버 ${n}명`);
});

test("English picks its form by Intl.PluralRules", () => {
  setCatalog(ENGLISH);
  assert.equal(tn("{count} member", "{count} members", 1), "1 member");
  for (const n of [0, 2, 11, 21]) assert.equal(tn("{count} member", "{count} members", n), `${n} members`);
});

test("plural forms follow the language's rules beyond one and other", () => {
  // Polish: one, few, many (and other for fractions); gettext orders the forms the same way.
  setCatalog({ locale: "pl", messages: { "{count} file": ["{count} plik", "{count} pliki", "{count} plików"] } });
  assert.equal(tn("{count} file", "{count} files", 1), "1 plik");
  assert.equal(tn("{count} file", "{count} files", 3), "3 pliki");
  assert.equal(tn("{count} file", "{count} files", 5), "5 plików");
});

test("{count} is the count unless the caller names it otherwise", () => {
  setCatalog(KOREAN);
  assert.equal(tn("{count} member", "{count} members", 2, { count: "둘" }), "멤버 둘명");
});
