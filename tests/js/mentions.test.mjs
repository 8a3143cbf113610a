// The pure part of mentions (lib/mentions.js): matching as one types (Hangul, initial
// consonants), the `@` being typed, the pick, and where a body names whom it mentions.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  choseong, insertMention, mentionAt, mentionPieces, mentionsMe, nameKey, suggestions,
} from "../../webchat/static/js/lib/mentions.js";

const MEMBERS = [
  { id: 1, username: "me" },
  { id: 2, username: "김민수" },
  { id: 3, username: "Minji" },
  { id: 4, username: "민지" },
  { id: 5, username: "alex.kim" },
  { id: 6, username: "박민수" },
];
const names = (list) => list.map((s) => s.username ?? `@${s.kind}`);

test("choseong: each syllable's initial consonant, other characters kept", () => {
  assert.equal(choseong("김민수"), "ㄱㅁㅅ");
  assert.equal(choseong("깜빡"), "ㄲㅃ");
  assert.equal(choseong("a가b"), "aㄱb");
  assert.equal(choseong(""), "");
});

test("an empty query offers everyone but me, then @room and @here", () => {
  assert.deepEqual(names(suggestions(MEMBERS, "", { me: 1 })),
    ["김민수", "Minji", "민지", "alex.kim", "박민수", "@room", "@here"]);
});

test("case-insensitive; names that start with the query before names that contain it", () => {
  assert.deepEqual(names(suggestions(MEMBERS, "MIN", { me: 1 })), ["Minji"]);
  assert.deepEqual(names(suggestions(MEMBERS, "kim", { me: 1 })), ["alex.kim"]);
  assert.deepEqual(names(suggestions(MEMBERS, "민", { me: 1 })), ["민지", "김민수", "박민수"]);
});

test("Hangul: a whole syllable, a syllable still being composed, initial consonants", () => {
  assert.deepEqual(names(suggestions(MEMBERS, "김민", { me: 1 })), ["김민수"]);
  // "미" is on its way to "민" (the IME shows it first): it already finds 민.
  assert.deepEqual(names(suggestions(MEMBERS, "김미", { me: 1 })), ["김민수"]);
  assert.deepEqual(names(suggestions(MEMBERS, "ㄱㅁ", { me: 1 })), ["김민수"]);
  assert.deepEqual(names(suggestions(MEMBERS, "ㅁㅅ", { me: 1 })), ["김민수", "박민수"]);
  assert.deepEqual(names(suggestions(MEMBERS, "ㄱ민", { me: 1 })), ["김민수"]);
  assert.deepEqual(names(suggestions(MEMBERS, "ㅎ", { me: 1 })), []);
});

test("@room and @here are offered as their words are typed", () => {
  assert.deepEqual(names(suggestions(MEMBERS, "ro", { me: 1 })), ["@room"]);
  assert.deepEqual(names(suggestions(MEMBERS, "HE", { me: 1 })), ["@here"]);
  assert.deepEqual(names(suggestions([], "", { me: 1 })), ["@room", "@here"]);
});

test("the limit bounds the members, not @room and @here", () => {
  const many = Array.from({ length: 20 }, (_, i) => ({ id: 10 + i, username: `user${i}` }));
  const found = suggestions(many, "user", { limit: 5 });
  assert.equal(found.filter((s) => s.kind === "member").length, 5);
});

test("mentionAt: the @ being typed at the caret", () => {
  assert.deepEqual(mentionAt("hi @min", 7), { start: 3, query: "min" });
  assert.deepEqual(mentionAt("@", 1), { start: 0, query: "" });
  assert.deepEqual(mentionAt("안녕 @김민", 6), { start: 3, query: "김민" });
  assert.deepEqual(mentionAt("(＠ㄱㅁ", 4), { start: 1, query: "ㄱㅁ" });
  assert.equal(mentionAt("mail kim@example", 16), null);
  assert.equal(mentionAt("@min done", 9), null);
  assert.equal(mentionAt("no mention", 10), null);
  assert.deepEqual(mentionAt("@min rest", 2), { start: 0, query: "m" });
  assert.equal(mentionAt(`@${"a".repeat(40)}`, 41, 32), null);
});

test("insertMention: `@name ` in place of what was typed, the caret after it", () => {
  assert.deepEqual(insertMention("hi @mi", 3, 6, "Minji"), { text: "hi @Minji ", caret: 10 });
  assert.deepEqual(insertMention("@ㄱㅁ 안녕", 0, 3, "김민수"), { text: "@김민수 안녕", caret: 5 });
  // The rest of the word under the caret goes too.
  assert.deepEqual(insertMention("@mi쪽 done", 0, 2, "Minji"), { text: "@Minji done", caret: 7 });
  assert.deepEqual(insertMention("a @r", 2, 4, "room"), { text: "a @room ", caret: 8 });
});

const mentioned = (list) => new Map(list.map(([name, id]) => [nameKey(name), id]));

test("mentionPieces: the names a message mentions, the rest as text", () => {
  assert.deepEqual(mentionPieces("hi @Minji and @nobody", mentioned([["minji", 3]])),
    ["hi ", { mention: "@Minji", userId: 3 }, " and @nobody"]);
  assert.deepEqual(mentionPieces("@민지님 안녕하세요", mentioned([["민지", 4]])),
    [{ mention: "@민지", userId: 4 }, "님 안녕하세요"]);
  assert.deepEqual(mentionPieces("＠김민수에게 전달", mentioned([["김민수", 2]])),
    [{ mention: "＠김민수", userId: 2 }, "에게 전달"]);
  assert.deepEqual(mentionPieces("see @alex.kim.", mentioned([["alex.kim", 5]])),
    ["see ", { mention: "@alex.kim", userId: 5 }, "."]);
  assert.deepEqual(mentionPieces("kim@minji.com", mentioned([["minji", 3]])), ["kim@minji.com"]);
});

test("mentionPieces: @room and @here only when the message mentions everyone", () => {
  assert.deepEqual(mentionPieces("@room 회의 시작", new Map(), "room"), [{ mention: "@room", all: "room" }, " 회의 시작"]);
  assert.deepEqual(mentionPieces("@here 모두", new Map(), null), ["@here 모두"]);
  assert.deepEqual(mentionPieces("", new Map()), []);
  assert.deepEqual(mentionPieces("<b>@x</b>", mentioned([["x", 9]])), ["<b>", { mention: "@x", userId: 9 }, "</b>"]);
});

test("mentionsMe: by my id, or everyone's; never my own message", () => {
  assert.equal(mentionsMe({ sender: { id: 2 }, mentions: [1] }, 1), true);
  assert.equal(mentionsMe({ sender: { id: 2 }, mentions: [3], mention_all: "here" }, 1), true);
  assert.equal(mentionsMe({ sender: { id: 2 }, mentions: [3], mention_all: null }, 1), false);
  assert.equal(mentionsMe({ sender: { id: 1 }, mentions: [1], mention_all: "room" }, 1), false);
  assert.equal(mentionsMe({ sender: { id: 2 } }, 1), false);
});
