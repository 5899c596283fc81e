// Vitest 5 targets Node >= 22 and calls Map.groupBy (ES2024), which Node 20
// lacks. kiln supports Node 20 (Debian's nodesource default), so the test
// command preloads this one standard-conforming polyfill. Remove with Node 20.
if (typeof Map.groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value(items, keyOf) {
      const groups = new Map();
      let i = 0;
      for (const item of items) {
        const key = keyOf(item, i++);
        const group = groups.get(key);
        if (group) group.push(item);
        else groups.set(key, [item]);
      }
      return groups;
    },
  });
}
