/**
 * `Monitor`: rules over every open pool, arena, shared pool and NumaPool of this thread (and
 * any ring or other object given to `watch`), evaluated off the hot path, on a timer or on
 * `check()`. A rule raises an alert at `warn` or `critical` and clears it only once the value
 * has fallen below the threshold by the rule's hysteresis, so a value hovering at a threshold
 * does not flap. Counter metrics (failed allocations, growths) alert on any increase since the
 * previous check (or at least `warn` of them) and clear after a check without one.
 *
 * Callbacks see every transition: raised, escalated, lowered and cleared. A callback that
 * throws does not stop the monitor; the error goes to `onError` (and is counted).
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { trackedObjects } from "./metrics.ts";
import { ALERT_LEVEL_CODES, closeAlertLevels, openAlertLevels } from "./alert_levels.ts";
import { COUNTER_METRICS, METRICS, metricValue, type MonitorMetric } from "./monitor_metrics.ts";
import { describe, integerIn, readOptions } from "./validate.ts";
import { unrefTimer } from "./timers.ts";

export type { MonitorMetric };

/** Alert levels; "clear" is the transition back to no alert. */
export type AlertLevel = "warn" | "critical";

/** One rule. */
export interface MonitorRule {
  /** What to watch (see monitor_metrics.ts for what each metric means per kind). */
  metric: MonitorMetric;
  /** Raise a warning at or above this value (utilisation and fragmentation: a fraction 0-1). */
  warn?: number;
  /** Raise a critical alert at or above this value. */
  critical?: number;
  /**
   * An alert clears (or steps down) once the value is below its threshold minus this much.
   * Default: 0.05 for fractions (utilisation, fragmentation), 0 for counts.
   */
  hysteresis?: number;
  /** Only objects with this `name` option. Default: every object. */
  name?: string;
}

/** A transition of one rule on one object. */
export interface Alert {
  /** The object's class ("Pool", "Ring", ...). */
  kind: string;
  /** The `name` it was created with. */
  name: string;
  /** The object itself. */
  target: object;
  /** The rule that changed level. */
  rule: Readonly<MonitorRule>;
  /** The value judged (for counters: the increase since the previous check). */
  value: number;
  /** The level now: "clear" when the alert ended. */
  level: AlertLevel | "clear";
  /** The level before: undefined when there was no alert. */
  previous: AlertLevel | undefined;
}

/** Options of `new Monitor(...)`. */
export interface MonitorOptions {
  /** The rules, at least one. */
  rules: MonitorRule[];
  /** Called with every transition. */
  onAlert: (alert: Alert) => void;
  /** Milliseconds between checks on a timer (which never keeps the process alive); 0: only `check()`. Default: 1000. */
  interval?: number;
  /** Called when `onAlert` (or an object's `stats()`) throws. Default: nothing (the error is counted). */
  onError?: (error: unknown) => void;
}

/** What `watch` takes: a Ring, a Pool, or any object with a name and stats(). */
export interface Watched {
  /** The label alerts carry. */
  readonly name: string;
  /** True once closed (a closed object is dropped; so is one whose stats() throws CLOSED). */
  readonly closed?: boolean;
  /** Its counters. */
  stats(): unknown;
}

/** Per object and rule: the last counter total and the active level. */
interface RuleState {
  counter: number | undefined;
  level: AlertLevel | undefined;
}

/**
 * Thresholds and alerts over this thread's pools, arenas, shared pools and watched rings.
 *
 * @example
 * ```ts
 * import { Monitor, Pool } from "@hotpath/core";
 * using orders = new Pool({ blockSize: 64, capacity: 1024, name: "orders" });
 * using monitor = new Monitor({
 *   rules: [{ metric: "utilisation", warn: 0.8, critical: 0.95 }, { metric: "failedAllocations", critical: 1 }],
 *   onAlert: (alert) => console.warn(`${alert.name}: ${alert.rule.metric} ${alert.value} ${alert.level}`),
 * });
 * ```
 */
export class Monitor {
  /** The rules, as checked at creation. */
  readonly rules: readonly Readonly<MonitorRule>[];
  #onAlert: (alert: Alert) => void;
  #onError: ((error: unknown) => void) | undefined;
  #watched = new Set<Watched>();
  #levels = openAlertLevels();
  #states = new WeakMap<object, RuleState[]>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #errors = 0;
  #checks = 0;
  #closed = false;

  /** Checks the rules and starts the timer. INVALID_ARGUMENT for bad options. */
  constructor(options: MonitorOptions) {
    const where = "new Monitor";
    const given = readOptions(where, options, ["rules", "onAlert", "interval", "onError"]);
    if (typeof given.onAlert !== "function") {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: onAlert must be a function; got ${describe(given.onAlert)}.`,
      );
    }
    if (given.onError !== undefined && typeof given.onError !== "function") {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: onError must be a function; got ${describe(given.onError)}.`,
      );
    }
    this.rules = Object.freeze(checkRules(where, given.rules));
    this.#onAlert = given.onAlert as (alert: Alert) => void;
    this.#onError = given.onError as ((error: unknown) => void) | undefined;
    const interval = given.interval === undefined ? 1000 : integerIn(where, "interval", given.interval, 0, 86_400_000);
    if (interval > 0) {
      this.#timer = setInterval(() => this.#checkSafely(), interval);
      unrefTimer(this.#timer);
    }
  }

  /** Also watches `object` (a Ring, or anything with `name`, `closed` and `stats()`). */
  watch(object: Watched): void {
    this.#live();
    const valid = typeof object === "object" && object !== null && typeof object.stats === "function";
    if (!valid) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `Monitor.watch: pass an object with stats() (a Ring, Pool, ...); got ${describe(object)}.`,
      );
    }
    this.#watched.add(object);
  }

  /** Stops watching `object`. */
  unwatch(object: Watched): void {
    this.#watched.delete(object);
  }

  /** Evaluates every rule now; returns the transitions (also given to `onAlert`). */
  check(): Alert[] {
    this.#live();
    this.#checks++;
    const transitions: Alert[] = [];
    for (const object of this.#objects()) {
      // A watched object whose stats(), name or constructor throws is skipped, and counted.
      try {
        const stats = object.stats() as Record<string, unknown>;
        if (typeof stats !== "object" || stats === null) continue;
        const states = this.#statesOf(object);
        this.rules.forEach((rule, index) => {
          if (rule.name !== undefined && object.name !== rule.name) return;
          const alert = this.#judge(object, rule, states[index], stats);
          if (alert !== undefined) transitions.push(alert);
        });
        this.#publishLevel(object, states);
      } catch (error) {
        if (error instanceof HotpathError && error.code === "CLOSED") this.#watched.delete(object);
        else this.#failed(error);
      }
    }
    for (const alert of transitions) {
      try {
        this.#onAlert(alert);
      } catch (error) {
        this.#failed(error);
      }
    }
    return transitions;
  }

  /** Checks made, and callbacks or stats() calls that threw. */
  stats(): { checks: number; errors: number; watched: number } {
    return { checks: this.#checks, errors: this.#errors, watched: this.#objects().length };
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops the timer; later calls throw CLOSED. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watched.clear();
    closeAlertLevels(this.#levels);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #objects(): Watched[] {
    const objects: Watched[] = trackedObjects();
    for (const object of this.#watched) {
      let closed = true;
      try {
        closed = object.closed === true;
      } catch (error) {
        this.#failed(error);
      }
      if (closed) this.#watched.delete(object);
      else if (!objects.includes(object)) objects.push(object);
    }
    return objects;
  }

  #statesOf(object: object): RuleState[] {
    let states = this.#states.get(object);
    if (states === undefined) {
      states = this.rules.map(() => ({ counter: undefined, level: undefined }));
      this.#states.set(object, states);
    }
    return states;
  }

  #judge(object: Watched, rule: Readonly<MonitorRule>, state: RuleState, stats: Record<string, unknown>) {
    const raw = metricValue(rule.metric, stats);
    if (raw === undefined) return undefined;
    let value = raw;
    if (COUNTER_METRICS.has(rule.metric)) {
      value = state.counter === undefined ? 0 : raw - state.counter;
      state.counter = raw;
    }
    const level = nextLevel(rule, state.level, value);
    if (level === state.level) return undefined;
    const previous = state.level;
    state.level = level;
    const kind = (object as { constructor?: { name?: string } }).constructor?.name ?? "object";
    return { kind, name: object.name, target: object, rule, value, level: level ?? "clear", previous } as Alert;
  }

  /** The object's highest level over every rule, for the counter directory. */
  #publishLevel(object: object, states: RuleState[]): void {
    const highest = states.reduce((most, state) => Math.max(most, state.level ? ALERT_LEVEL_CODES[state.level] : 0), 0);
    if (highest === 0) this.#levels.delete(object);
    else this.#levels.set(object, highest);
  }

  #checkSafely(): void {
    if (this.#closed) return;
    try {
      this.check();
    } catch (error) {
      this.#failed(error);
    }
  }

  #failed(error: unknown): void {
    this.#errors++;
    try {
      this.#onError?.(error);
    } catch {
      // An error handler that throws is counted once, with the error it was given.
    }
  }

  #live(): void {
    if (this.#closed) throw new HotpathError("CLOSED", "Monitor is closed; create a new one.");
  }
}

/** The level after judging `value`: up at once, down only past the hysteresis. */
function nextLevel(rule: Readonly<MonitorRule>, current: AlertLevel | undefined, value: number) {
  const margin = rule.hysteresis ?? (COUNTER_METRICS.has(rule.metric) || rule.metric === "ringLag" ||
      rule.metric === "stuckReaders"
    ? 0
    : 0.05);
  const reaches = (threshold: number | undefined) => threshold !== undefined && value >= threshold;
  const holds = (threshold: number | undefined) =>
    threshold !== undefined &&
    (COUNTER_METRICS.has(rule.metric) ? value > 0 && value >= threshold - margin : value >= threshold - margin);
  if (reaches(rule.critical)) return "critical";
  if (current === "critical" && holds(rule.critical)) return "critical";
  if (reaches(rule.warn)) return "warn";
  if ((current === "warn" || current === "critical") && holds(rule.warn)) return "warn";
  return undefined;
}

function checkRules(where: string, rules: unknown): MonitorRule[] {
  if (!Array.isArray(rules) || rules.length === 0 || rules.length > 256) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: rules must be an array of 1 to 256 rules; got ${describe(rules)}.`,
    );
  }
  const length = rules.length;
  const checked: MonitorRule[] = [];
  for (let index = 0; index < length; index++) {
    const at = `${where}: rules[${index}]`;
    const given = readOptions(at, rules[index], ["metric", "warn", "critical", "hysteresis", "name"]);
    if (!(METRICS as readonly unknown[]).includes(given.metric)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${at}.metric must be one of ${METRICS.join(", ")}; got ${describe(given.metric)}.`,
      );
    }
    const rule: MonitorRule = { metric: given.metric as MonitorMetric };
    for (const key of ["warn", "critical", "hysteresis"] as const) {
      const value = given[key];
      if (value === undefined) continue;
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
        throw new HotpathError(
          "INVALID_ARGUMENT",
          `${at}.${key} must be a finite number >= 0; got ${describe(value)}.`,
        );
      }
      rule[key] = value;
    }
    if (rule.warn === undefined && rule.critical === undefined) {
      throw new HotpathError("INVALID_ARGUMENT", `${at}: give warn, critical or both.`);
    }
    if (rule.warn !== undefined && rule.critical !== undefined && rule.critical < rule.warn) {
      throw new HotpathError("INVALID_ARGUMENT", `${at}: critical (${rule.critical}) is below warn (${rule.warn}).`);
    }
    if (given.name !== undefined) {
      if (typeof given.name !== "string") {
        throw new HotpathError("INVALID_ARGUMENT", `${at}.name must be a string; got ${describe(given.name)}.`);
      }
      rule.name = given.name;
    }
    checked.push(Object.freeze(rule));
  }
  return checked;
}
