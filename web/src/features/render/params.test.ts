import { describe, expect, it } from 'vitest'
import { SD15, TINY, entitlements } from '../../test/renderFixtures'
import { parseRetryAfter } from './apiHelpers'
import { estimateCredits, limitsFor, sizeFor, stepsFor } from './params'
import priceGrid from './price-grid.json'

const SDXL = { ...SD15, key: 'sdxl', default_width: 1024, default_height: 1024, max_width: 2048, max_height: 2048, max_steps: 100, default_steps: 30, credit_factor: 2 }

describe('generation parameters', () => {
  it('takes the smaller of the model and plan maximums', () => {
    expect(limitsFor(SDXL, entitlements(10, { max_width: 1024, max_height: 1536, max_images_per_job: 4 }))).toEqual({
      maxWidth: 1024,
      maxHeight: 1536,
      maxSteps: 100,
      maxImages: 4,
    })
  })

  it('shapes keep 2:3 within the maximums, in multiples of 8', () => {
    const limits = limitsFor(SDXL, entitlements(10))
    expect(sizeFor('square', SDXL, limits)).toEqual({ width: 1024, height: 1024 })
    expect(sizeFor('portrait', SDXL, limits)).toEqual({ width: 680, height: 1024 })
    expect(sizeFor('landscape', SDXL, limits)).toEqual({ width: 1024, height: 680 })
    expect(sizeFor('portrait', TINY, limitsFor(TINY, entitlements(10)))).toEqual({ width: 64, height: 96 })
  })

  it('speeds scale the model default steps within its maximum', () => {
    const turbo = { ...SD15, default_steps: 4, max_steps: 10 }
    const limits = limitsFor(turbo, entitlements(10))
    expect(SPEEDS_OF(turbo, limits)).toEqual([2, 4, 8])
    const capped = { ...SD15, default_steps: 60, max_steps: 100 }
    expect(SPEEDS_OF(capped, limitsFor(capped, entitlements(10)))).toEqual([30, 60, 100])
  })

  it('estimates the price like docs/render.md', () => {
    expect(estimateCredits(SD15, 512, 512, 25, 1)).toBe(1)
    expect(estimateCredits(SD15, 64, 64, 4, 2)).toBe(2) // at least 1 per image
    expect(estimateCredits(SDXL, 1024, 1024, 30, 2)).toBe(20) // ceil(2 × 4 × 1.2) = 10 per image
    expect(estimateCredits(undefined, 512, 512, 25, 1)).toBeNull()
  })

  it('estimates every price of the grid render charges (services/render/tests/test_price_grid.py)', () => {
    expect(priceGrid.columns).toEqual(['credit_factor', 'width', 'height', 'steps', 'images', 'credits'])
    expect(priceGrid.rows.length).toBeGreaterThan(500)
    const wrong = priceGrid.rows.filter(([factor, width, height, steps, images, credits]) => {
      return estimateCredits({ ...SD15, credit_factor: factor }, width, height, steps, images) !== credits
    })
    expect(wrong).toEqual([])
  })

  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('30')).toBe(30)
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(30)
    expect(parseRetryAfter(null)).toBeNull()
    expect(parseRetryAfter('soon')).toBeNull()
  })
})

function SPEEDS_OF(model: typeof SD15, limits: ReturnType<typeof limitsFor>): number[] {
  return (['fast', 'balanced', 'quality'] as const).map((speed) => stepsFor(speed, model, limits))
}
