import type { CodegenConfig } from '@graphql-codegen/cli';

// The client is generated from the published contract (schema/schema.graphql), never from server code.
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['client/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'client/src/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        emitLegacyCommonJSImports: false,
        scalars: { DateTime: 'string', JSON: 'unknown' },
        documentMode: 'string',
      },
    },
  },
};

export default config;
