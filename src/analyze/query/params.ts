/**
 * Collects the values a compiled query binds. Every value a person sends reaches ClickHouse as a
 * server-side parameter (`{p3:String}`), never as SQL text.
 */
export class SqlParams {
  readonly values: Record<string, unknown> = {};
  private next = 0;

  constructor(initial: Record<string, unknown> = {}) {
    Object.assign(this.values, initial);
  }

  /** Binds `value` as ClickHouse type `type` and returns the placeholder to write into the SQL. */
  add(type: string, value: unknown): string {
    const name = `p${this.next++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }

  /** Binds under a fixed name (shared values such as the project and time zone). */
  set(name: string, type: string, value: unknown): string {
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}
