/**
 * The alert level each open Monitor holds on each object, so that the counter directory (and
 * `hotpath top`, and `metricsText()`) can show alerts next to the counters they are about.
 *
 * @module
 */

/** Level codes as published: 0 none, 1 warn, 2 critical. */
export const ALERT_LEVEL_CODES = { warn: 1, critical: 2 } as const;

const open = new Set<WeakMap<object, number>>();

/** A new Monitor's table of levels (objects without an alert are absent). */
export function openAlertLevels(): WeakMap<object, number> {
  const levels = new WeakMap<object, number>();
  open.add(levels);
  return levels;
}

/** Forgets a closed Monitor's levels. */
export function closeAlertLevels(levels: WeakMap<object, number>): void {
  open.delete(levels);
}

/** The highest level any open Monitor holds on `object` (0 when none). */
export function alertLevelOf(object: object): number {
  let highest = 0;
  for (const levels of open) highest = Math.max(highest, levels.get(object) ?? 0);
  return highest;
}
