export { KilnError } from './errors';
