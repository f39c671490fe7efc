import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

// Over HTTP a subscription is a stream of events, sent as SSE. A client that accepts only JSON used to
// get yoga's empty 406; it now learns why, in the JSON it asked for.

const STREAMING = ['text/event-stream', 'multipart/mixed'];

export function subscriptionAcceptPlugin(): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      // Only HTTP has a fetch Request in its context; graphql-ws streams anyway.
      const request = (args.contextValue as { request?: Request }).request;
      if (request === undefined) return;
      const accept = request.headers.get('accept') ?? '';
      if (accept === '' || accept.includes('*/*') || STREAMING.some((type) => accept.includes(type))) return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError('a subscription over HTTP streams as server-sent events: send "Accept: text/event-stream", or subscribe over the WebSocket', {
            extensions: { code: 'BAD_USER_INPUT', http: { status: 406 } },
          }),
        ],
      });
    },
  };
}
