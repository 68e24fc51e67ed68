/** The subset of YAML the compose file needs: maps, lists and scalars. */
export type YamlValue = string | number | boolean | YamlValue[] | { [key: string]: YamlValue };

const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Every string is double-quoted (a JSON string is a valid YAML double-quoted scalar), so no value
 * is ever read back as a number, a boolean or null. */
function scalar(v: string | number | boolean): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

const isScalar = (v: YamlValue): v is string | number | boolean => typeof v !== 'object';

function block(value: YamlValue, indent: string): string[] {
  if (isScalar(value)) return [`${indent}${scalar(value)}`];
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (isScalar(item) || (Array.isArray(item) && item.every(isScalar)))
        return [`${indent}- ${inline(item)}`];
      const [first, ...rest] = block(item, `${indent}  `);
      return [`${indent}- ${first!.trimStart()}`, ...rest];
    });
  }
  return Object.entries(value).flatMap(([k, v]) => {
    const key = PLAIN_KEY.test(k) ? k : JSON.stringify(k);
    if (isScalar(v) || (Array.isArray(v) && v.every(isScalar)) || isEmpty(v))
      return [`${indent}${key}: ${inline(v)}`];
    return [`${indent}${key}:`, ...block(v, `${indent}  `)];
  });
}

const isEmpty = (v: YamlValue) => typeof v === 'object' && Object.keys(v).length === 0;

function inline(v: YamlValue): string {
  if (isScalar(v)) return scalar(v);
  if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}: ${inline(x)}`)
    .join(', ')}}`;
}

export function toYaml(doc: { [key: string]: YamlValue }): string {
  return `${block(doc, '').join('\n')}\n`;
}
