import { useId, type ReactNode, type TextareaHTMLAttributes } from 'react'

const INPUT =
  'block w-full rounded-md border bg-white px-3 py-2 text-sm shadow-sm placeholder:text-slate-400 focus:outline-none focus:ring-2'
const INPUT_OK = 'border-slate-300 focus:border-indigo-500 focus:ring-indigo-200'
const INPUT_BAD = 'border-red-500 focus:border-red-500 focus:ring-red-200'

/** A textarea with the same label, hint and error wiring as ui.tsx's TextField. */
export function TextAreaField({
  label,
  error,
  hint,
  className = '',
  ...textarea
}: { label: string; error?: string; hint?: ReactNode } & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const id = useId()
  const described = error ? `${id}-error` : hint ? `${id}-hint` : undefined
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">
        {label}
      </label>
      <textarea
        id={id}
        {...textarea}
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
        className={`${INPUT} ${error ? INPUT_BAD : INPUT_OK} ${className}`}
      />
      {hint && !error && (
        <p id={`${id}-hint`} className="text-xs text-slate-500">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="text-sm text-red-600">
          {error}
        </p>
      )}
    </div>
  )
}

/** A row of toggle buttons; the one matching the current values is pressed. */
export function PresetGroup<T extends string>({
  label,
  options,
  active,
  labelOf,
  onPick,
}: {
  label: string
  options: readonly T[]
  active: T | null
  labelOf: (option: T) => string
  onPick: (option: T) => void
}) {
  return (
    <div role="group" aria-label={label} className="space-y-1">
      <span aria-hidden="true" className="block text-sm font-medium text-slate-700">
        {label}
      </span>
      <div className="inline-flex flex-wrap gap-1 rounded-lg bg-slate-100 p-1">
        {options.map((option) => (
          <button
            key={option}
            type="button"
            aria-pressed={active === option}
            onClick={() => onPick(option)}
            className={`rounded-md px-3 py-1.5 text-sm font-medium transition ${
              active === option ? 'bg-white text-indigo-700 shadow-sm' : 'text-slate-600 hover:text-slate-900'
            }`}
          >
            {labelOf(option)}
          </button>
        ))}
      </div>
    </div>
  )
}
