// The pricing module's door: what other modules and the app may use. Everything else in the folder is private.
export { ModelPriceService } from './model-price.service.ts';
export type { ModelPriceTable } from './model-price.table.ts';
export { decimalToMicros, microsToDecimal, tokensCostMicros } from './money.ts';
export { PriceBook } from './price-book.ts';
