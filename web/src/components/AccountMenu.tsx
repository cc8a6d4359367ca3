/** The header's right side on every signed-in page: credits left (the team's available
 * credits, as Generate counts them) and the person's menu (account, log out). */
import { useEffect, useRef, useState } from 'react'
import { useDispatch } from 'react-redux'
import { Link, useLocation, useNavigate } from 'react-router-dom'
import { api } from '../api/api'
import { useGetEntitlementsQuery } from '../features/render/renderApi'
import { useLogOutMutation } from '../features/session/sessionApi'
import type { TeamMe } from '../features/session/types'
import { useI18n } from '../i18n/I18nProvider'

export function HeaderCredits() {
  const { t } = useI18n()
  const { data } = useGetEntitlementsQuery()
  if (!data) return null
  return (
    <Link
      to="/billing"
      data-testid="header-credits"
      className="rounded-full bg-indigo-50 px-3 py-1 text-sm font-medium text-indigo-700 hover:bg-indigo-100"
    >
      {t('generate.credits', { credits: data.credits_available })}
    </Link>
  )
}

export function AccountMenu({ me }: { me: TeamMe }) {
  const { t } = useI18n()
  const [open, setOpen] = useState(false)
  const menu = useRef<HTMLDivElement>(null)
  const navigate = useNavigate()
  const dispatch = useDispatch()
  const { pathname } = useLocation()
  const [logOut, { isLoading }] = useLogOutMutation()

  useEffect(() => setOpen(false), [pathname])
  useEffect(() => {
    if (!open) return
    const close = (event: MouseEvent | KeyboardEvent) => {
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !menu.current?.contains(event.target as Node)) {
        setOpen(false)
      }
    }
    document.addEventListener('mousedown', close)
    document.addEventListener('keydown', close)
    return () => {
      document.removeEventListener('mousedown', close)
      document.removeEventListener('keydown', close)
    }
  }, [open])

  async function handleLogOut() {
    const result = await logOut()
    if (!('error' in result)) {
      navigate('/login', { replace: true })
      dispatch(api.util.resetApiState())
    }
  }

  return (
    <div className="relative" ref={menu}>
      <button
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen((value) => !value)}
        data-testid="account-menu-button"
        className="flex max-w-[10rem] items-center gap-1 truncate rounded-md px-2 py-1 text-sm font-medium text-slate-700 hover:bg-slate-100"
      >
        <span className="truncate">{me.user.name || me.user.email}</span>
        <span aria-hidden="true">▾</span>
      </button>
      {open && (
        <div
          role="menu"
          aria-label={t('accountMenu.label')}
          data-testid="account-menu"
          className="absolute right-0 z-20 mt-2 w-60 rounded-md border border-slate-200 bg-white py-1 text-sm shadow-lg"
        >
          <p className="truncate px-3 py-2 text-xs text-slate-500">{me.user.email}</p>
          <Link role="menuitem" to="/account" className="block px-3 py-2 text-slate-700 hover:bg-slate-50">
            {t('nav.account')}
          </Link>
          <button
            type="button"
            role="menuitem"
            disabled={isLoading}
            onClick={handleLogOut}
            data-testid="account-menu-logout"
            className="block w-full px-3 py-2 text-left text-slate-700 hover:bg-slate-50 disabled:opacity-60"
          >
            {t('account.logOut')}
          </button>
        </div>
      )}
    </div>
  )
}
