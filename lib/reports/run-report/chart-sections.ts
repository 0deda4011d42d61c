import { binaryConfusionAt, calibrationChart, prChart, rocChart, thresholdChart } from './binary-charts';
import type { VegaLiteSpec } from './chart-style';
import { classMetricsChart, confusionMatrixChart, errorQuantilesChart, headlineMetric, importanceChart, metricValue, sliceChart } from './evaluation-charts';
import type { RunReportData } from './run-report-data';
import { lossCurvesChart, trialsChart, validationMetricChart } from './training-charts';

/** A titled group of charts on the page; `notes` say what is missing and why. */
export interface ChartGroup {
  id: string;
  title: string;
  charts: VegaLiteSpec[];
  notes: string[];
}

function trainingGroup(data: RunReportData): ChartGroup {
  const group: ChartGroup = { id: 'training', title: 'Training', charts: [], notes: [] };
  const curves = data.training;
  if (!curves || curves.trainLoss.length === 0) {
    group.notes.push('No training curves: the model was registered before loss per epoch was kept, or the run did not train.');
    return group;
  }
  group.charts.push(lossCurvesChart(curves));
  const metric = validationMetricChart(curves);
  if (metric) group.charts.push(metric);
  return group;
}

function evaluationGroup(data: RunReportData): ChartGroup {
  const group: ChartGroup = { id: 'evaluation', title: 'Evaluation', charts: [], notes: [] };
  const report = data.evaluation;
  if (!report) {
    group.notes.push(
      'No evaluation report: none was stored with this model version (runs registered before evaluation reports were kept have only the headline metrics).',
    );
    return group;
  }
  const metrics = report.metrics;
  switch (report.task) {
    case 'binary': {
      const curves = report.binary;
      if (!curves) {
        group.notes.push('The evaluation report has no curves.');
        break;
      }
      const auc = metricValue(metrics, 'auc') ?? undefined;
      const positiveRate = metricValue(metrics, 'positiveRate') ?? undefined;
      group.charts.push(rocChart(curves.roc, auc), prChart(curves.pr, positiveRate), calibrationChart(curves.calibration), thresholdChart(curves.thresholds));
      const at = binaryConfusionAt(curves.thresholds);
      if (at) group.charts.push(confusionMatrixChart(`Confusion matrix at threshold ${at.threshold}`, at.classes, at.confusion));
      break;
    }
    case 'multiclass':
      if (report.multiclass) group.charts.push(confusionMatrixChart('Confusion matrix', report.multiclass.classes, report.multiclass.confusion));
      if (metrics.task === 'multiclass') group.charts.push(classMetricsChart(metrics.perClass));
      group.notes.push('ROC, precision-recall and calibration curves are drawn for binary models; this is a multiclass model.');
      break;
    case 'regression':
      if (report.regression) {
        const errors = metrics.task === 'regression' ? { rmse: metrics.rmse, mae: metrics.mae } : undefined;
        group.charts.push(errorQuantilesChart(report.regression.absoluteErrorQuantiles, errors));
      }
      group.notes.push('ROC, precision-recall and calibration curves and the confusion matrix are for classifiers; this is a regression model.');
      break;
  }
  return group;
}

function slicesGroup(data: RunReportData): ChartGroup {
  const group: ChartGroup = { id: 'slices', title: 'Slices', charts: [], notes: [] };
  const report = data.evaluation;
  if (!report) return { ...group, notes: ['No slices: there is no evaluation report.'] };
  if (report.slices.length === 0) return { ...group, notes: ['No slices: the spec names no feature to slice the test rows by (evaluation.slices).'] };
  const overall = metricValue(report.metrics, headlineMetric(report.task).key);
  group.charts.push(...report.slices.map((slice) => sliceChart(slice, report.task, overall)));
  return group;
}

function importanceGroup(data: RunReportData): ChartGroup {
  const group: ChartGroup = { id: 'importance', title: 'Feature importance', charts: [], notes: [] };
  if (!data.importance || data.importance.features.length === 0) group.notes.push('No feature importance: it was not computed for this model version.');
  else group.charts.push(importanceChart(data.importance));
  return group;
}

function trialsGroup(data: RunReportData): ChartGroup {
  const group: ChartGroup = { id: 'trials', title: 'Trials', charts: [], notes: [] };
  if (!data.trials || data.trials.length === 0) group.notes.push('No hyperparameter trials in this run.');
  else group.charts.push(trialsChart(data.trials, data.trialMetric));
  return group;
}

/** Every chart group of the page, in reading order: how it trained, how it does, where, why, and what was tried. */
export function chartGroups(data: RunReportData): ChartGroup[] {
  return [trainingGroup(data), evaluationGroup(data), slicesGroup(data), importanceGroup(data), trialsGroup(data)];
}
