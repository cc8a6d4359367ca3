import type { KeyboardEvent } from 'react'

/**
 * Whether a key press belongs to an input method (Korean, Japanese, …) still composing a
 * syllable: then Enter confirms the syllable and must not submit or pick anything.
 * `composing` is what the field's compositionstart/compositionend said; some browsers only
 * say so through `isComposing` or the 229 key code.
 */
export function isComposing(event: KeyboardEvent<HTMLElement>, composing: boolean): boolean {
  return composing || event.nativeEvent.isComposing || event.keyCode === 229
}
