import type { InferenceConfigFile } from './config.ts';

/**
 * The inference config in force. A reload swaps the whole snapshot; nothing edits one in place, so a
 * reader that took `current()` sees one consistent file for as long as it holds it.
 */
export class LiveInferenceConfig {
  #current: InferenceConfigFile;

  constructor(initial: InferenceConfigFile) {
    this.#current = initial;
  }

  current(): InferenceConfigFile {
    return this.#current;
  }

  replace(next: InferenceConfigFile): void {
    this.#current = next;
  }
}
