/** Names, defaults and option checks (the errors users see). */
import { describe, expect, it } from 'vitest';
import { Adam, getOptimizer, optimizerFromConfig, optimizerNames, RMSprop } from './index.js';

const KERAS_DEFAULTS: Record<string, Record<string, number | boolean>> = {
  sgd: { learningRate: 0.01, momentum: 0, nesterov: false },
  rmsprop: { learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false },
  adagrad: { learningRate: 0.001, initialAccumulatorValue: 0.1, epsilon: 1e-7 },
  adadelta: { learningRate: 0.001, rho: 0.95, epsilon: 1e-7 },
  adam: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false },
  adamax: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
  nadam: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
};

describe('getOptimizer', () => {
  it('knows the seven Keras identifiers, with Keras defaults', () => {
    expect(optimizerNames).toEqual(['sgd', 'rmsprop', 'adagrad', 'adadelta', 'adam', 'adamax', 'nadam']);
    for (const name of optimizerNames) {
      const opt = getOptimizer(name);
      expect(opt.name).toBe(name);
      expect(opt.getConfig()).toEqual(KERAS_DEFAULTS[name]);
    }
  });

  it('accepts class names, instances and { name, config }', () => {
    expect(getOptimizer('RMSprop')).toBeInstanceOf(RMSprop);
    expect(getOptimizer('SGD').name).toBe('sgd');
    const adam = new Adam();
    expect(getOptimizer(adam)).toBe(adam);
    const fromObject = getOptimizer({ name: 'adam', config: { learningRate: 0.01 } });
    expect(fromObject.getConfig()['learningRate']).toBe(0.01);
    expect(getOptimizer({ name: 'nadam' }).name).toBe('nadam');
  });

  it('names the known optimizers when the name is unknown', () => {
    expect(() => getOptimizer('adamw')).toThrow(
      'getOptimizer: unknown optimizer "adamw"; known optimizers: sgd, rmsprop, adagrad, adadelta, adam, adamax, nadam',
    );
    expect(() => optimizerFromConfig('ftrl', {})).toThrow(/optimizerFromConfig: unknown optimizer "ftrl"; known optimizers: sgd, /);
    expect(() => getOptimizer(42 as unknown as string)).toThrow(/getOptimizer: expected an optimizer name .* got 42/);
  });
});

describe('option checks', () => {
  const bad: [string, Record<string, unknown>, string][] = [
    ['adam', { beta1: 1.5 }, 'Adam: beta1 must be in [0, 1), got 1.5'],
    ['adam', { beta2: 1 }, 'Adam: beta2 must be in [0, 1), got 1'],
    ['adam', { learningRate: -0.1 }, 'Adam: learningRate must be >= 0, got -0.1'],
    ['adam', { learningRate: Number.NaN }, 'Adam: learningRate must be a finite number >= 0, got NaN'],
    ['adam', { epsilon: 0 }, 'Adam: epsilon must be > 0, got 0'],
    ['adam', { amsgrad: 'yes' }, 'Adam: amsgrad must be a boolean, got "yes"'],
    ['adam', { beta3: 0.5 }, 'Adam: unknown option "beta3"; known options: learningRate, beta1, beta2, epsilon, amsgrad'],
    ['adam', { learning_rate: 0.1 }, 'Adam: unknown option "learning_rate" (Loom spells it learningRate)'],
    ['sgd', { momentum: 1 }, 'SGD: momentum must be in [0, 1), got 1'],
    ['sgd', { momentum: '0.9' }, 'SGD: momentum must be a finite number in [0, 1), got "0.9"'],
    ['sgd', { nesterov: 1 }, 'SGD: nesterov must be a boolean, got 1'],
    ['rmsprop', { rho: -0.1 }, 'RMSprop: rho must be in [0, 1), got -0.1'],
    ['rmsprop', { momentum: Infinity }, 'RMSprop: momentum must be a finite number in [0, 1), got Infinity'],
    ['adagrad', { initialAccumulatorValue: -1 }, 'Adagrad: initialAccumulatorValue must be >= 0, got -1'],
    ['adadelta', { rho: 1 }, 'Adadelta: rho must be in [0, 1), got 1'],
    ['adamax', { beta1: -0.5 }, 'Adamax: beta1 must be in [0, 1), got -0.5'],
    ['nadam', { epsilon: -1e-7 }, 'Nadam: epsilon must be > 0, got -1e-7'],
  ];
  it.each(bad)('%s %o', (name, config, message) => {
    expect(() => optimizerFromConfig(name, config)).toThrow(message);
  });

  it('rejects options that are not an object, and treats undefined as absent', () => {
    expect(() => new Adam(null as unknown as object)).toThrow('Adam: options must be an object, got null');
    expect(new Adam({ learningRate: undefined }).config.learningRate).toBe(0.001);
    expect(Object.isFrozen(new Adam().config)).toBe(true);
  });

  it('accepts the edges of each range', () => {
    expect(() => new Adam({ learningRate: 0, beta1: 0, beta2: 0 })).not.toThrow();
    expect(() => optimizerFromConfig('adagrad', { initialAccumulatorValue: 0 })).not.toThrow();
  });
});
