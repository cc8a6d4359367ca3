import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react'
import { useSearchSuggestQuery } from './searchApi'
import { isComposing } from '../../components/ime'
import { Button } from '../../components/ui'
import { useI18n } from '../../i18n/I18nProvider'
import { Highlight } from './Highlight'
import { MAX_QUERY, MAX_SUGGEST_QUERY } from './params'
import type { Suggestion } from './types'

/** Suggestions are asked for once typing pauses this long. */
export const SUGGEST_DEBOUNCE_MS = 150

/**
 * What suggestions complete: the text without the lone jamo an input method may leave at its
 * end while it composes a syllable ("고양ㅇ" on the way to "고양이" completes "고양").
 */
function suggestText(value: string): string {
  return value.replace(/[\u1100-\u11ff\u3130-\u318f]+$/u, '').trim()
}

export function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value)
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms)
    return () => clearTimeout(timer)
  }, [value, ms])
  return debounced
}

/**
 * The gallery's search field: an ARIA 1.2 combobox whose list suggests the team's own prompts
 * completing what is typed (its recent prompts while the field is empty). ArrowUp/ArrowDown
 * move through the list, Enter picks the active suggestion or searches for the text, Escape
 * closes the list, a click picks. While an input method composes a syllable (Korean), Enter
 * only confirms the syllable, and the list on show stays while the unfinished syllable
 * completes nothing ("공" on the way to "고양").
 */
export function SearchBox({
  value,
  onValueChange,
  onSearch,
  onClear,
}: {
  value: string
  onValueChange: (value: string) => void
  /** Search for this text (already trimmed; empty means "no search"). */
  onSearch: (q: string) => void
  onClear: () => void
}) {
  const { t } = useI18n()
  const id = useId()
  const inputId = `${id}-input`
  const listId = `${id}-list`
  const input = useRef<HTMLInputElement>(null)
  const composing = useRef(false)
  const [composingNow, setComposingNow] = useState(false)
  const [open, setOpen] = useState(false)
  const [active, setActive] = useState(-1)
  const typed = useDebounced(suggestText(value), SUGGEST_DEBOUNCE_MS)
  const suggestions = useSearchSuggestQuery(typed, { skip: !open || typed.length > MAX_SUGGEST_QUERY })
  // The list on show and what it completes: the last one that came, until the next comes.
  const [shown, setShown] = useState<{ q: string; items: Suggestion[] } | null>(null)
  const current = suggestions.currentData
  useEffect(() => {
    if (!current) return
    // A syllable still being composed is not yet what the user means: an empty answer for it
    // keeps the list on show (once composed, the answer stands).
    if (composingNow && current.length === 0) return
    setShown({ q: typed, items: current })
  }, [current, typed, composingNow])
  const items: Suggestion[] = open ? (shown?.items ?? []) : []
  const expanded = items.length > 0

  // A new list starts with nothing active.
  useEffect(() => setActive(-1), [shown, open])

  function close() {
    setOpen(false)
    setActive(-1)
  }

  function search(text: string) {
    close()
    onSearch(text.trim())
  }

  function pick(suggestion: Suggestion) {
    onValueChange(suggestion.prompt)
    search(suggestion.prompt)
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (isComposing(event, composing.current)) {
      // The input method takes this key; Enter must not also submit the form.
      if (event.key === 'Enter') event.preventDefault()
      return
    }
    switch (event.key) {
      case 'ArrowDown':
        event.preventDefault()
        if (!open) setOpen(true)
        else if (items.length > 0) setActive((current) => (current + 1) % items.length)
        break
      case 'ArrowUp':
        event.preventDefault()
        if (!open) setOpen(true)
        else if (items.length > 0) setActive((current) => (current <= 0 ? items.length - 1 : current - 1))
        break
      case 'Enter':
        event.preventDefault()
        if (expanded && active >= 0 && active < items.length) pick(items[active])
        else search(value)
        break
      case 'Escape':
        if (open) {
          event.preventDefault()
          close()
        }
        break
      case 'Tab':
        close()
        break
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault()
    search(value)
  }

  const recent = shown?.q === ''
  const activeId = expanded && active >= 0 ? `${id}-option-${active}` : undefined

  return (
    <form role="search" onSubmit={onSubmit} className="relative" data-testid="gallery-search">
      <label htmlFor={inputId} className="sr-only">
        {t('search.label')}
      </label>
      <div className="flex gap-2">
        <div className="relative flex-1">
          <input
            ref={input}
            id={inputId}
            type="search"
            name="q"
            role="combobox"
            autoComplete="off"
            spellCheck={false}
            enterKeyHint="search"
            maxLength={MAX_QUERY}
            aria-autocomplete="list"
            aria-expanded={expanded}
            aria-controls={listId}
            aria-activedescendant={activeId}
            placeholder={t('search.placeholder')}
            value={value}
            data-testid="gallery-search-input"
            onChange={(event) => {
              onValueChange(event.target.value)
              setOpen(true)
            }}
            onFocus={() => setOpen(true)}
            onBlur={close}
            onKeyDown={onKeyDown}
            onCompositionStart={() => {
              composing.current = true
              setComposingNow(true)
            }}
            onCompositionEnd={() => {
              composing.current = false
              setComposingNow(false)
            }}
            className="block w-full rounded-md border border-slate-300 bg-white py-2 pl-3 pr-9 text-sm shadow-sm placeholder:text-slate-400 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200 [&::-webkit-search-cancel-button]:hidden"
          />
          {value && (
            <button
              type="button"
              aria-label={t('search.clear')}
              title={t('search.clear')}
              data-testid="gallery-search-clear"
              onClick={() => {
                close()
                onClear()
                input.current?.focus()
              }}
              className="absolute right-1 top-1/2 -translate-y-1/2 rounded px-2 py-1 text-slate-400 hover:bg-slate-100 hover:text-slate-700"
            >
              ×
            </button>
          )}
        </div>
        <Button type="submit" data-testid="gallery-search-submit">
          {t('search.submit')}
        </Button>
      </div>
      <ul
        id={listId}
        role="listbox"
        aria-label={recent ? t('search.recent') : t('search.suggestions')}
        hidden={!expanded}
        data-testid="gallery-search-suggestions"
        className="absolute inset-x-0 top-full z-30 mt-1 max-h-80 overflow-auto rounded-md border border-slate-200 bg-white py-1 text-sm shadow-lg"
      >
        {expanded && (
          <li role="presentation" className="px-3 pb-1 pt-1.5 text-xs font-medium uppercase tracking-wide text-slate-400">
            {recent ? t('search.recent') : t('search.suggestions')}
          </li>
        )}
        {items.map((suggestion, index) => (
          <li
            key={`${suggestion.prompt}-${index}`}
            id={`${id}-option-${index}`}
            role="option"
            aria-selected={index === active}
            data-testid="gallery-search-suggestion"
            // Keep the focus in the field, so that the click is not lost to its blur.
            onMouseDown={(event) => event.preventDefault()}
            onMouseEnter={() => setActive(index)}
            onClick={() => pick(suggestion)}
            className={`flex cursor-pointer items-baseline justify-between gap-3 px-3 py-2 ${
              index === active ? 'bg-indigo-50 text-indigo-900' : 'text-slate-700'
            }`}
          >
            <span className="min-w-0 truncate">
              <Highlight segments={suggestion.highlight} text={suggestion.prompt} />
            </span>
            <span className="shrink-0 text-xs text-slate-400">
              {suggestion.images === 1 ? t('search.imagesOne') : t('search.images', { count: suggestion.images })}
            </span>
          </li>
        ))}
      </ul>
    </form>
  )
}
