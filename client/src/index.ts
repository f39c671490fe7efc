export { createTollgateClient, type TollgateClient, type TollgateClientOptions } from './client.ts';
export * from './errors.ts';
export * from './generated/graphql.ts';
