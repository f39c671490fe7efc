// The feedback module's door: what other modules and the app may use. Everything else in the folder is private.
export { FeedbackService } from './feedback.service.ts';
