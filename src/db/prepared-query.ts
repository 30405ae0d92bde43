/**
 * Hot queries compiled once. Kysely builds an operation tree and compiles it to SQL on
 * every call, some 20 to 40 µs of CPU per query, more than SQLite takes to run most of
 * ours. A hot query's shape never changes, only its values: it is built with the same
 * Kysely builder as any other (so it stays dialect-correct and type-checked), compiled
 * once per dialect with a placeholder standing for each value, and each call hands the
 * driver that SQL with the call's values bound in the placeholders' slots. Values are
 * still bound parameters, never SQL text.
 *
 * Whatever `build` computes beyond the placeholders is fixed at the first compilation: a
 * clock or a random value there would never change.
 *
 * The compilation is kept per dialect adapter. A transaction is a new Kysely instance
 * each time, but it shares its database's adapter and compiler, so queries run inside
 * transactions are compiled once too. A Kysely instance with plugins (which may rewrite
 * queries) gets a compilation of its own.
 */
import { createQueryId, sql, type Compilable, type CompiledQuery, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema.js';

/** Stands for a named value while the query is compiled. */
class Placeholder {
  constructor(readonly name: string) {}
}

interface Compiled {
  query: CompiledQuery;
  /** For each bound parameter, the name of the value that fills it (undefined: a constant of the query). */
  slots: (string | undefined)[];
}

/**
 * A named value of the query. It is an SQL expression, not the value itself, so it can
 * only be placed in the query (where, join, in, limit...), never computed with.
 */
export type ParamRef<P> = <K extends keyof P & string>(name: K) => RawBuilder<P[K]>;

/** What `build` returns: a Kysely query whose rows are Row (checked against the builder's own row type). */
type QueryOf<Row> = Compilable<Row> & { execute(): Promise<Row[]> };

/**
 * What a compilation depends on: the adapter (one per database, shared by its
 * transactions) unless plugins are installed. getExecutor() is marked internal in Kysely's
 * typings; if it ever changed shape, the type check would fail here, and
 * test/prepared-query.test.ts checks that a transaction reuses its database's compilation.
 */
function cacheKeyOf(db: Kysely<Database>): object {
  const executor = db.getExecutor();
  return executor.plugins.length === 0 ? executor.adapter : db;
}

export class PreparedQuery<P extends Record<string, unknown>, Row> {
  /** One compilation per dialect adapter (SQLite and PostgreSQL spell SQL differently). */
  private readonly compiled = new WeakMap<object, Compiled>();

  constructor(private readonly build: (db: Kysely<Database>, param: ParamRef<P>) => QueryOf<Row>) {}

  async execute(db: Kysely<Database>, params: P): Promise<Row[]> {
    const key = cacheKeyOf(db);
    let compiled = this.compiled.get(key);
    if (compiled === undefined) {
      compiled = this.compile(db);
      this.compiled.set(key, compiled);
    }
    const { query, slots } = compiled;
    const parameters = query.parameters.map((constant, index) => {
      const name = slots[index];
      if (name === undefined) return constant;
      // On PostgreSQL a missing value would quietly bind NULL and match nothing.
      if (!(name in params)) throw new Error(`prepared query: no value given for "${name}"`);
      return params[name];
    });
    const result = await db.executeQuery<Row>({ ...query, queryId: createQueryId(), parameters });
    return result.rows;
  }

  async executeTakeFirst(db: Kysely<Database>, params: P): Promise<Row | undefined> {
    return (await this.execute(db, params))[0];
  }

  private compile(db: Kysely<Database>): Compiled {
    const used = new Set<string>();
    const query = this.build(db, (name) => {
      used.add(name);
      return sql`${new Placeholder(name)}`;
    }).compile();
    const slots = query.parameters.map((value) => (value instanceof Placeholder ? value.name : undefined));
    // A placeholder that did not become a bound parameter would have been inlined or
    // dropped: refuse the query rather than run it with a value missing.
    for (const name of used) {
      if (!slots.includes(name)) throw new Error(`prepared query: the value "${name}" is not a bound parameter of ${query.sql}`);
    }
    return { query, slots };
  }
}
