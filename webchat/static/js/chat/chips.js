// What a message's reaction bar shows: pure, no DOM (unit-tested in tests/js/chips.test.mjs).

/** The quick reactions a message's menu offers, in this order. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

/**
 * One chip per reaction of `message`, in the server's order (first use first):
 * `{emoji, count, mine, names, others}`. `names` are the usernames `nameOf(id)` knows
 * (the room's members; mine first), `others` how many reacted whom it does not know.
 */
export function reactionChips(message, me, nameOf) {
  const reactions = Array.isArray(message?.reactions) ? message.reactions : [];
  return reactions.filter((r) => r && r.emoji && r.count > 0).map(({ emoji, count, user_ids: ids = [] }) => {
    const mine = ids.includes(me);
    const names = [];
    for (const id of mine ? [me, ...ids.filter((other) => other !== me)] : ids) {
      const name = nameOf(id);
      if (name) names.push(name);
    }
    return { emoji, count, mine, names, others: Math.max(0, count - names.length) };
  });
}

/** Whether I have reacted with `emoji` to `message`: the next click removes it. */
export function hasMine(message, emoji, me) {
  return Boolean(message?.reactions?.some((r) => r.emoji === emoji && r.user_ids?.includes(me)));
}
