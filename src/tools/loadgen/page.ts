/**
 * What a browser user reads on the app's pages: the cart page's quantities and the CSRF token of
 * its forms. The markup is the one of src/app/views (a cell `data-product="<id>"` per product and
 * a `data-total` for the sum); a page that does not match is not taken for a cart page.
 */

export interface CartView {
  /** The signed-in email the page names. */
  email: string;
  items: Record<string, number>;
  /** The token of the page's forms (the logout button's form on the cart page). */
  csrf: string | undefined;
  /** The page says it was served from a replica while the master is replaced. */
  fromReplica: boolean;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e: string) => ENTITIES[e]!);
}

/** The value of the first hidden `_csrf` field of a page. */
export function formToken(html: string): string | undefined {
  const m = /<input type="hidden" name="_csrf" value="([^"]*)">/.exec(html);
  return m ? unescapeHtml(m[1]!) : undefined;
}

/**
 * The cart page's content, or null when the page is not a whole cart page (another page, an
 * error page, an answer cut short): the rows must add up to the total the page prints.
 */
export function parseCartPage(html: string): CartView | null {
  const email = /<strong class="email">([^<]*)<\/strong>/.exec(html);
  const total = /data-total="(\d+)"/.exec(html);
  if (!email || !total || !html.includes('</html>')) return null;
  const items: Record<string, number> = {};
  let sum = 0;
  for (const m of html.matchAll(/<td class="num" data-product="([^"]+)">(\d+)<\/td>/g)) {
    const n = Number(m[2]);
    items[unescapeHtml(m[1]!)] = n;
    sum += n;
  }
  if (Object.keys(items).length === 0 || sum !== Number(total[1])) return null;
  return {
    email: unescapeHtml(email[1]!),
    items,
    csrf: formToken(html),
    fromReplica: html.includes('Served from a replica'),
  };
}

/** A form's fields as a browser sends them (application/x-www-form-urlencoded). */
export function formEncode(fields: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
}
