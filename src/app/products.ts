export interface Product {
  id: string;
  name: string;
}

/** The fixed catalogue: every cart write is checked against it. */
export const PRODUCTS: readonly Product[] = Object.freeze([
  { id: 'keyboard', name: 'Mechanical keyboard' },
  { id: 'mouse', name: 'Wireless mouse' },
  { id: 'monitor', name: '27" monitor' },
  { id: 'headset', name: 'Headset' },
  { id: 'webcam', name: 'HD webcam' },
  { id: 'dock', name: 'USB-C dock' },
]);

export const PRODUCT_IDS: ReadonlySet<string> = new Set(PRODUCTS.map((p) => p.id));

export const MAX_QUANTITY = 99;
