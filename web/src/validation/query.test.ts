import { describe, expect, it } from 'vitest';
import type { Limits } from '../api/types';
import { checkQuery, checkUploadSize, sequenceIds } from './query';
import idCases from './queryIds.cases.json';

const limits: Limits = {
  max_nucleotide_letters_per_sequence: 100,
  max_protein_letters_per_sequence: 50,
  max_query_letters_per_job: 150,
  max_sequences_per_job: 3,
  max_defline_chars: 40,
  max_upload_bytes: 1000,
  max_active_jobs_per_user: 20,
  max_queued_jobs_per_user: 200,
  max_hits_per_query: 5000,
  submit_rate_per_minute: 60,
  submit_burst: 20,
};

const code = (text: string, molecule: 'nucl' | 'prot' = 'nucl') => {
  const r = checkQuery(text, molecule, limits);
  return r.ok ? 'ok' : r.problem.code;
};

describe('sequenceIds', () => {
  it('reads a query as ids exactly as the server does', () => {
    for (const { text, ids } of idCases.cases) expect([text, sequenceIds(text)]).toEqual([text, ids]);
  });
});

describe('checkQuery', () => {
  it('takes sequence ids, counted against the sequence limit', () => {
    expect(checkQuery('AB362592\nNR_025211.1', 'nucl', limits)).toEqual({ ok: true, stats: { sequences: 2, letters: 0, byId: true } });
    expect(code('P69905', 'prot')).toBe('ok');
    expect(code('A1 A2 A3 A4')).toBe('too_many_sequences');
    expect(code('ACGTACGT5')).toBe('ok'); // reads as an id: the server looks it up and says so
    expect(code('ACGTACGTACGTACGTACGTACGTACGTACGT5')).toBe('invalid_fasta');
  });
  it('accepts FASTA and a bare sequence', () => {
    expect(checkQuery('>a\nACGT\nNNRY\n>b desc\nacgu', 'nucl', limits)).toEqual({ ok: true, stats: { sequences: 2, letters: 12 } });
    expect(code('ACGTACGT\nACGT')).toBe('ok');
    expect(code('>p\nMALWMRLLPL*', 'prot')).toBe('ok');
  });
  it('refuses an empty query or one with only comments', () => {
    expect(code('  \n ')).toBe('empty_query');
    expect(code('; just a comment')).toBe('empty_query');
    expect(code('>a\n\n>b\nACGT')).toBe('empty_query');
  });
  it('refuses binary data and text that is not FASTA', () => {
    expect(code('>a\nAC\u0000GT')).toBe('binary_data');
    expect(code('hello world 123')).toBe('invalid_fasta');
    expect(code('ACGT\n>a\nACGT')).toBe('invalid_fasta');
  });
  it('refuses residues outside the alphabet, gaps included', () => {
    expect(code('>a\nACGTX')).toBe('invalid_residues');
    expect(code('>a\nACG-T')).toBe('invalid_residues');
    expect(code('>p\nMAL1W', 'prot')).toBe('invalid_residues');
  });
  it('tells a protein in a nucleotide program, and the reverse', () => {
    expect(code('>p\nMALWMRLLPLLALLALWGPDPAAA')).toBe('query_molecule_mismatch');
    expect(code('>n\nACGTACGTACGTAC', 'prot')).toBe('query_molecule_mismatch');
    expect(code('>short\nGATTACA', 'prot')).toBe('ok'); // short peptides may look like DNA
  });
  it('applies the limits', () => {
    expect(code(`>a\n${'A'.repeat(101)}`)).toBe('sequence_too_long');
    expect(code(`>a\n${'M'.repeat(51)}`, 'prot')).toBe('sequence_too_long');
    expect(code('>a\nA\n>b\nA\n>c\nA\n>d\nA')).toBe('too_many_sequences');
    expect(code(`>${'h'.repeat(41)}\nACGT`)).toBe('header_too_long');
    expect(code(`>a\n${'A'.repeat(80)}\n>b\n${'C'.repeat(80)}`)).toBe('query_too_large');
  });
  it('checks the upload size', () => {
    expect(checkUploadSize(1000, limits)).toBeNull();
    expect(checkUploadSize(1001, limits)?.code).toBe('payload_too_large');
  });
});
