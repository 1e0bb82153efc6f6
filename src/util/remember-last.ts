/**
 * `parse` remembering its last answer: called again with the same two strings
 * in a row, it returns that same object, frozen through and through, so a
 * caller that changes what it gets fails loudly instead of changing the next
 * target's config.
 * A plugin's config is parsed per call from stdin and CNI_ARGS, and a bulk
 * call hands every target the same bytes. A call that throws is not
 * remembered (the next one parses, and throws, again).
 */
export function rememberLast<T>(parse: (stdin: string, cniArgs: string) => T): (stdin: string, cniArgs: string) => T {
  let last: {stdin: string; cniArgs: string; value: T} | undefined;
  return (stdin, cniArgs) => {
    if (last?.stdin === stdin && last.cniArgs === cniArgs) return last.value;
    const value = deepFreeze(parse(stdin, cniArgs));
    last = {stdin, cniArgs, value};
    return value;
  };
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}
