#!/usr/bin/python3
"""Headless QGIS screenshot of a scene's satsal outputs, for the README.

Opens the outputs exactly as a QGIS user would (plain paths; QGIS applies saliency.qml and
lovi.qml by itself) and renders two map panels side by side:
  left   saliency.tif (viridis, its .qml) with the counting windows of counts.gpkg labelled
         "predicted/annotated"
  right  lovi.tif (RGB + alpha, its .qml) with the annotated cars of counts.gpkg

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tools/qgis_screenshot.py OUT_FOLDER/SCENE docs/qgis-demo.png

Needs Debian's qgis and python3-qgis (QGIS 3.22); a tool for the documentation, not part of a run.
"""
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (QgsApplication, QgsMapRendererParallelJob, QgsMapSettings, QgsPalLayerSettings,  # noqa: E402
                       QgsProject, QgsRasterLayer, QgsTextFormat, QgsVectorLayer, QgsVectorLayerSimpleLabeling,
                       QgsFillSymbol, QgsMarkerSymbol, QgsSingleSymbolRenderer)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage, QPainter  # noqa: E402


def render(layers, extent, size):
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(layers[-1].crs())
    settings.setExtent(extent)
    settings.setOutputSize(size)
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder, out = sys.argv[1], sys.argv[2]
    app = QgsApplication([], False)
    app.initQgis()
    saliency = QgsRasterLayer(os.path.join(folder, "saliency.tif"), "saliency")
    lovi = QgsRasterLayer(os.path.join(folder, "lovi.tif"), "lovi")
    gpkg = os.path.join(folder, "counts.gpkg")
    windows = QgsVectorLayer(gpkg + "|layername=windows", "windows", "ogr")
    cars = QgsVectorLayer(gpkg + "|layername=cars", "cars", "ogr")
    for layer in (saliency, lovi, windows, cars):
        if not layer.isValid():
            sys.exit("qgis_screenshot: QGIS cannot open layer %s of %s" % (layer.name(), folder))
        QgsProject.instance().addMapLayer(layer)
    windows.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple(
        {"color": "0,0,0,0", "outline_color": "255,255,255", "outline_width": "0.4"})))
    labels = QgsPalLayerSettings()
    labels.fieldName = "concat(\"predicted\", '/', \"annotated\")"
    labels.isExpression = True
    text = QgsTextFormat()
    text.setColor(QColor(255, 255, 255))
    text.setSize(9)
    buffer = text.buffer()
    buffer.setEnabled(True)
    buffer.setColor(QColor(0, 0, 0))
    text.setBuffer(buffer)
    labels.setFormat(text)
    labels.placement = QgsPalLayerSettings.OverPoint
    windows.setLabeling(QgsVectorLayerSimpleLabeling(labels))
    windows.setLabelsEnabled(True)
    cars.setRenderer(QgsSingleSymbolRenderer(QgsMarkerSymbol.createSimple(
        {"name": "circle", "color": "255,255,255,0", "outline_color": "255,255,255", "size": "1.2"})))

    extent = saliency.extent()
    side = 480
    size = QSize(side, int(side * extent.height() / extent.width()))
    left = render([windows, saliency], extent, size)
    right = render([cars, lovi], extent, size)
    image = QImage(2 * size.width() + 8, size.height(), QImage.Format_RGB32)
    image.fill(QColor(255, 255, 255))
    painter = QPainter(image)
    painter.drawImage(0, 0, left)
    painter.drawImage(size.width() + 8, 0, right)
    painter.end()
    if not image.save(out, None, 85):
        sys.exit("qgis_screenshot: cannot write " + out)
    app.exitQgis()


if __name__ == "__main__":
    main()
