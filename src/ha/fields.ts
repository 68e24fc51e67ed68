/**
 * A flat reply of names and values (name, value, name, value, ...) as a record: HGETALL, and
 * SENTINEL MASTER and REPLICAS per row. Anything but a list is an empty record.
 */
export function fieldsOf(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}
